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
    private readonly Dictionary<ulong, int> _overlap = new();

    /// <summary>to_cacheline_number.</summary>
    public ulong CachelineOf(ulong paddr) =>
        ((paddr >> PageShift) << (PageShift - l1CacheShift)) + ((paddr & ((1UL << PageShift) - 1)) >> l1CacheShift);

    /// <summary>active_cacheline_insert: true on -EEXIST; <paramref name="overflowed"/> when the count passed 7.</summary>
    public bool Insert(DebugEntry e, out bool overflowed)
    {
        overflowed = false;
        if (e.Direction == Parsers.Model.DmaDirection.ToDevice) return false;
        ulong cln = CachelineOf(e.PhysAddr);
        ref int overlap = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_overlap, cln, out bool exists);
        if (!exists) return false;
        if (overlap + 1 > MaxOverlap) overflowed = true; // set_overlap refuses the value: the count stays at 7
        else overlap++;
        return true;
    }

    /// <summary>active_cacheline_remove: decrement; below zero the key goes.</summary>
    public void Remove(DebugEntry e)
    {
        if (e.Direction == Parsers.Model.DmaDirection.ToDevice) return;
        ulong cln = CachelineOf(e.PhysAddr);
        ref int overlap = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(_overlap, cln);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref overlap)) return;
        if (--overlap < 0) _overlap.Remove(cln);
    }
}
