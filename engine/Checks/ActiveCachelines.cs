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

    // The mapping the tree stores for each line, kept apart from the map in a pool of its own:
    // it is read only for a report, and without it the map's slots are small enough that a
    // lookup mostly hits the cache. Freed places are reused first.
    private EventOrigin[] _owners = new EventOrigin[64];
    private int[] _freeOwners = new int[64];
    private int _ownerCount, _freeOwnerCount;

    /// <summary>The overlap count the radix-tree tags hold, and where the mapping the tree stores for the line (the first one) is in the owner pool.</summary>
    private struct Line
    {
        public int Overlap;
        public int Owner;
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
            line.Owner = NewOwner(e.Origin);
            return false;
        }
        owner = _owners[line.Owner];
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
        ref var line = ref _lines.ValueAt(slot);
        if (--line.Overlap >= 0) return;
        if (_freeOwnerCount == _freeOwners.Length) Array.Resize(ref _freeOwners, _freeOwners.Length * 2);
        _freeOwners[_freeOwnerCount++] = line.Owner;
        _lines.RemoveAt(slot);
    }

    private int NewOwner(in EventOrigin origin)
    {
        int i;
        if (_freeOwnerCount > 0) i = _freeOwners[--_freeOwnerCount];
        else
        {
            if (_ownerCount == _owners.Length) Array.Resize(ref _owners, _owners.Length * 2);
            i = _ownerCount++;
        }
        _owners[i] = origin;
        return i;
    }
}
