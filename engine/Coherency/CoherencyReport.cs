namespace DmaReplay.Engine.Coherency;

/// <summary>The DMA API calls whose cache maintenance is counted, in report order.</summary>
public enum CoherencyOperation : byte
{
    /// <summary>dma_map_page/_sg: arch_sync_dma_for_device (on the bounce buffer when bounced).</summary>
    Map,
    /// <summary>dma_unmap_page/_sg: arch_sync_dma_for_cpu unless DMA_ATTR_SKIP_CPU_SYNC.</summary>
    Unmap,
    /// <summary>dma_sync_*_for_device: arch_sync_dma_for_device.</summary>
    SyncForDevice,
    /// <summary>dma_sync_*_for_cpu: arch_sync_dma_for_cpu.</summary>
    SyncForCpu,
    /// <summary>dma_alloc_coherent that may block: arch_dma_prep_coherent before the uncached remap.</summary>
    Alloc,
}

public static class CoherencyOperations
{
    public const int Count = 5;

    /// <summary>The key in summary.json and the CSV.</summary>
    public static string Key(this CoherencyOperation op) => op switch
    {
        CoherencyOperation.Map => "map",
        CoherencyOperation.Unmap => "unmap",
        CoherencyOperation.SyncForDevice => "syncForDevice",
        CoherencyOperation.SyncForCpu => "syncForCpu",
        _ => "alloc",
    };
}

/// <summary>
/// The cache maintenance of one kind of call on one device: the calls that reached the arch hook,
/// those it left alone (for_cpu of DMA_TO_DEVICE) and those DMA_ATTR_SKIP_CPU_SYNC kept from it;
/// range operations by kind; the lines each instruction touched; the bytes asked for.
/// </summary>
public sealed record CoherencyOperationReport(
    CoherencyOperation Operation, long Calls, long NoMaintenance, long SkippedByAttr,
    long CleanOps, long InvalidateOps, long CleanInvalidateOps,
    long LinesCleaned, long LinesInvalidated, long LinesCleanInvalidated, long Bytes)
{
    /// <summary>Every cache line this operation touched (dc cvac + ivac + civac): the unit of the cost model's "cache maintenance per line" term.</summary>
    public long Lines => LinesCleaned + LinesInvalidated + LinesCleanInvalidated;
    public long RangeOps => CleanOps + InvalidateOps + CleanInvalidateOps;
}

/// <summary>How often a buffer size bounced for dma_kmalloc_needs_bounce.</summary>
public sealed record KmallocBounceSize(ulong Size, long Count);

/// <summary>One non-coherent device: its maintenance per operation and its unaligned-kmalloc bounces.</summary>
public sealed record CoherencyDeviceReport(
    string Device, IReadOnlyList<CoherencyOperationReport> Operations,
    long KmallocBounces, long KmallocBounceBytes, IReadOnlyList<KmallocBounceSize> KmallocBounceSizes,
    long UncachedRemaps, long AtomicPoolAllocs, long SyncsSkipped)
{
    public CoherencyOperationReport Of(CoherencyOperation op) => Operations[(int)op];
    public long Lines => Operations.Sum(o => o.Lines);
}

/// <summary>A buffer dma_kmalloc_needs_bounce sent through SWIOTLB (the first ones of the replay).</summary>
public sealed record KmallocBounceExample(string Input, long Line, string Device, ulong Phys, ulong Size, string Direction);

/// <summary>
/// The replay's cache coherency: the line size maintenance steps by, the cache alignment rules of
/// the unaligned-kmalloc bounce, and every non-coherent device. Null in a replay where every
/// device is coherent.
/// </summary>
public sealed record CoherencyReport(
    int LineBytes, int DmaCacheAlignment, int ArchDmaMinalign, bool BounceUnalignedKmalloc,
    IReadOnlyList<CoherencyDeviceReport> Devices, IReadOnlyList<KmallocBounceExample> KmallocExamples)
{
    public const int MaxExamples = 20;

    /// <summary>Lines touched by one operation over all devices: what the cost model multiplies by its per-line cost.</summary>
    public long LinesOf(CoherencyOperation op) => Devices.Sum(d => d.Of(op).Lines);
    public long TotalLines => Devices.Sum(d => d.Lines);
    public long KmallocBounces => Devices.Sum(d => d.KmallocBounces);
}
