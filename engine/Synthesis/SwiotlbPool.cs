namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// The default SWIOTLB pool of the synthetic machine: 2 KiB slots (IO_TLB_SIZE) searched from a
/// moving index like swiotlb_search_pool_area(), so bounce addresses of live mappings never overlap.
/// </summary>
internal sealed class SwiotlbPool
{
    public const int SlotSize = 2048;

    private readonly bool[] _busy;
    private int _index;

    public SwiotlbPool(ulong start, int slots)
    {
        Start = start;
        _busy = new bool[slots];
    }

    public ulong Start { get; }
    public int Slots => _busy.Length;

    /// <summary>Slots for <paramref name="size"/> bytes; returns the bounce address (min_align_mask 0: no sub-slot offset).</summary>
    public ulong Alloc(ulong size, out int slots)
    {
        slots = (int)((size + SlotSize - 1) / SlotSize);
        for (int tried = 0; tried < _busy.Length; tried++)
        {
            int first = _index;
            _index = (_index + 1) % _busy.Length;
            if (first + slots > _busy.Length) continue;
            bool free = true;
            for (int s = first; s < first + slots && free; s++) free = !_busy[s];
            if (!free) continue;
            for (int s = first; s < first + slots; s++) _busy[s] = true;
            _index = (first + slots) % _busy.Length;
            return Start + (ulong)first * SlotSize;
        }
        throw new InvalidOperationException("synthetic swiotlb pool exhausted");
    }

    public void Free(ulong addr, int slots)
    {
        int first = (int)((addr - Start) / SlotSize);
        for (int s = first; s < first + slots; s++) _busy[s] = false;
    }
}
