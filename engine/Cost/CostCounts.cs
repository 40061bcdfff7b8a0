namespace DmaReplay.Engine.Cost;

/// <summary>The DMA API calls the cost model prices, named as the kernel's functions; <see cref="FqTimer"/> is the flush-queue timer (fq_flush_timeout).</summary>
public enum CostOp
{
    Map, Unmap, MapSg, UnmapSg, SyncForCpu, SyncForDevice, Alloc, Free, FqTimer,
}

public static class CostOps
{
    public const int Count = (int)CostOp.FqTimer + 1;

    /// <summary>Every operation's key, in report order.</summary>
    public static IReadOnlyList<string> AllKeys { get; } = Enumerable.Range(0, Count).Select(i => ((CostOp)i).Key()).ToList();

    public static string Key(this CostOp op) => op switch
    {
        CostOp.Map => "map",
        CostOp.Unmap => "unmap",
        CostOp.MapSg => "map_sg",
        CostOp.UnmapSg => "unmap_sg",
        CostOp.SyncForCpu => "sync_for_cpu",
        CostOp.SyncForDevice => "sync_for_device",
        CostOp.Alloc => "alloc",
        CostOp.Free => "free",
        _ => "fq_timer",
    };
}

/// <summary>
/// What the emulated stack did for one call: the quantities the cost terms multiply. Filled from
/// the stack's counters before and after the call (a difference of two snapshots), so nothing is
/// allocated per event.
/// </summary>
public struct CostCounts
{
    /// <summary>Scatterlist entries of an sg call (0 otherwise).</summary>
    public long SgEntries;
    public long IovaRcacheHits, IovaRcacheMisses;
    /// <summary>IO page-table leaves written and cleared.</summary>
    public long PtesMapped, PtesUnmapped;
    public long Invalidations, InvalidatedPages;
    /// <summary>IOTLB misses of the device access model and the page-table levels their walks read.</summary>
    public long IotlbMisses, WalkLevels;
    public long SlotSearchSteps, BounceBytes;
    /// <summary>Cache lines cleaned or invalidated for a non-coherent device (the coherency model's count).</summary>
    public long CacheLines;

    public void Add(in CostCounts o)
    {
        SgEntries += o.SgEntries;
        IovaRcacheHits += o.IovaRcacheHits;
        IovaRcacheMisses += o.IovaRcacheMisses;
        PtesMapped += o.PtesMapped;
        PtesUnmapped += o.PtesUnmapped;
        Invalidations += o.Invalidations;
        InvalidatedPages += o.InvalidatedPages;
        IotlbMisses += o.IotlbMisses;
        WalkLevels += o.WalkLevels;
        SlotSearchSteps += o.SlotSearchSteps;
        BounceBytes += o.BounceBytes;
        CacheLines += o.CacheLines;
    }

    /// <summary>The difference <paramref name="after"/> − <paramref name="before"/> of two snapshots of cumulative counters.</summary>
    public static CostCounts Delta(in CostCounts before, in CostCounts after) => new()
    {
        SgEntries = after.SgEntries - before.SgEntries,
        IovaRcacheHits = after.IovaRcacheHits - before.IovaRcacheHits,
        IovaRcacheMisses = after.IovaRcacheMisses - before.IovaRcacheMisses,
        PtesMapped = after.PtesMapped - before.PtesMapped,
        PtesUnmapped = after.PtesUnmapped - before.PtesUnmapped,
        Invalidations = after.Invalidations - before.Invalidations,
        InvalidatedPages = after.InvalidatedPages - before.InvalidatedPages,
        IotlbMisses = after.IotlbMisses - before.IotlbMisses,
        WalkLevels = after.WalkLevels - before.WalkLevels,
        SlotSearchSteps = after.SlotSearchSteps - before.SlotSearchSteps,
        BounceBytes = after.BounceBytes - before.BounceBytes,
        CacheLines = after.CacheLines - before.CacheLines,
    };
}
