namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// Bounce addresses for the synthetic trace: 2 KiB slots handed out from a moving index, so live
/// bounce buffers never overlap. A plausible generator, not the kernel's algorithm (that is
/// <see cref="Swiotlb.SwiotlbMem"/>, which a replay of the generated trace runs).
/// </summary>
internal sealed class SynthBouncePool
{
    public const int SlotSize = 2048;

    private readonly bool[] _busy;
    private int _index;

    public SynthBouncePool(ulong start, int slots)
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
