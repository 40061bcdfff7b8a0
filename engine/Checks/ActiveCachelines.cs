namespace DmaReplay.Engine.Checks;

/// <summary>
/// dma_active_cacheline of kernel/dma/debug.c: the first cache line of every mapping the device
/// may write (all directions but TO_DEVICE), with the overlap count the radix-tree tags hold — at
/// most 7, so an 8th overlap is not counted and the key is deleted early on removal, as in the kernel.
/// </summary>
internal sealed class ActiveCachelines(int l1CacheShift)
{
    /// <summary>ACTIVE_CACHELINE_MAX_OVERLAP = (1 &lt;&lt; RADIX_TREE_MAX_TAGS) - 1.</summary>
    public const int MaxOverlap = 7;

    private const int PageShift = 12;
    private readonly AddressMap<Line> _lines = new();

    /// <summary>The overlap count the radix-tree tags hold, and the mapping the tree stores for the line (the first one).</summary>
    private struct Line
    {
        public int Overlap;
        public EventOrigin Owner;
    }

    /// <summary>to_cacheline_number.</summary>
    public ulong CachelineOf(ulong paddr) =>
        ((paddr >> PageShift) << (PageShift - l1CacheShift)) + ((paddr & ((1UL << PageShift) - 1)) >> l1CacheShift);

    /// <summary>
    /// active_cacheline_insert: true on -EEXIST, with the mapping that holds the line in
    /// <paramref name="owner"/>; <paramref name="overflowed"/> when the count would pass 7.
    /// </summary>
    public bool Insert(in DebugEntry e, out bool overflowed, out EventOrigin owner)
    {
        overflowed = false;
        owner = default;
        if (e.Direction == Parsers.Model.DmaDirection.ToDevice) return false;
        ulong cln = CachelineOf(e.PhysAddr);
        ref var line = ref _lines.GetValueRefOrAddDefault(cln, out bool exists);
        if (!exists)
        {
            line.Owner = e.Origin;
            return false;
        }
        owner = line.Owner;
        if (line.Overlap + 1 > MaxOverlap) overflowed = true; // set_overlap refuses the value: the count stays at 7
        else line.Overlap++;
        return true;
    }

    /// <summary>active_cacheline_remove: decrement; below zero the key goes.</summary>
    public void Remove(in DebugEntry e)
    {
        if (e.Direction == Parsers.Model.DmaDirection.ToDevice) return;
        ulong cln = CachelineOf(e.PhysAddr);
        int slot = _lines.Find(cln);
        if (slot < 0) return;
        if (--_lines.ValueAt(slot).Overlap < 0) _lines.RemoveAt(slot);
    }
}
