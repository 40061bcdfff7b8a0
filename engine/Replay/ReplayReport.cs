using DmaReplay.Engine.Summary;

namespace DmaReplay.Engine.Replay;

/// <summary>What a replay found: the platform used, agreement with the recorded addresses, SWIOTLB and IOMMU metrics.</summary>
public sealed record ReplayReport(
    PlatformReport Platform,
    AgreementReport Agreement,
    SwiotlbReport? Swiotlb)
{
    /// <summary>dma-iommu metrics; null when no translated device mapped anything.</summary>
    public IommuReport? Iommu { get; init; }
    /// <summary>Cache maintenance and unaligned-kmalloc bounces of the non-coherent devices; null when every device is coherent.</summary>
    public Coherency.CoherencyReport? Coherency { get; init; }

    /// <summary>Allocations and pools: sources, atomic pool pressure, dma_pools; null when the trace allocated nothing.</summary>
    public Pools.PoolsReport? Pools { get; init; }

    /// <summary>The cost estimate; null unless the replay ran with a cost model (--cost, --compare).</summary>
    public Cost.CostReport? Cost { get; init; }
}

/// <summary>The platform a replay ran on and where each fact came from.</summary>
public sealed record PlatformReport(string Name, bool IsCaptureOwn, int Cpus, IReadOnlyList<string> Provenance);

public sealed record Tally(long Compared, long Exact)
{
    public double Ratio => Compared == 0 ? 1 : (double)Exact / Compared;
}

/// <param name="ReleasesNotReplayed">
/// Unmaps and syncs of handles whose map the emulated platform failed (a what-if): the driver
/// would have seen the failure and never made them, so they are not passed to the checks.
/// </param>
public sealed record FailureTally(long Recorded, long Predicted, long Matched, long ReleasesNotReplayed = 0);

/// <summary>A map whose emulated result differs from what the kernel returned.</summary>
public sealed record Mismatch(string Input, long Line, string Kind, string Device, ulong Phys, ulong Size, ulong Recorded, ulong Predicted);

/// <summary>Direct: dma-direct addresses; Swiotlb: bounce addresses; Iommu: IOVAs of translated devices (maps, sg segments, coherent allocations).</summary>
public sealed record AgreementReport(Tally Direct, Tally Swiotlb, Tally Iommu, FailureTally Failures, long MismatchCount, IReadOnlyList<Mismatch> Mismatches)
{
    /// <summary>
    /// The IO page-table updates (iommu_map, iommu_unmap) of the replay against the trace's iommu
    /// <c>map</c>/<c>unmap</c> events; null when the replay was not on the capture's own platform.
    /// </summary>
    public PageTableTally? IommuPageTable { get; init; }
}

/// <summary>Page-table updates compared and exact, and the recorded ones not compared by reason (e.g. boot-time identity maps).</summary>
public sealed record PageTableTally(long Compared, long Exact, IReadOnlyList<KeyValuePair<string, long>> NotCompared);

/// <summary>The emulated dma-iommu: the granule, devices that left the 32-bit space, untrusted bounces, and each DMA domain.</summary>
public sealed record IommuReport(ulong Granule, long DacFallbacks, long Bounces, IReadOnlyList<IommuDomainReport> Domains);

/// <summary>
/// One DMA domain (an IOMMU group): IOVA allocations by where they came from (the CPU's range
/// cache or the tree), failures and range-cache flushes, the peak IOVA space handed to mappings
/// and held by the tree (mapped, cached or queued), the lowest IOVA used, what is still mapped
/// at the end, and in lazy mode the flush-queue flushes (timer, full queue) with the timer runs the
/// kernel's IOVAs placed earlier (witnessed) or on another CPU (migrated); depot magazine pushes and trims.
/// </summary>
public sealed record IommuDomainReport(
    string Domain, string Mode, long Allocations, long RcacheHits, long TreeAllocations, long Failures, long RcacheFlushes,
    ulong PeakMappedBytes, ulong PeakTreeBytes, ulong? LowestIova, ulong MappedAtEndBytes,
    long TimerFlushes, long FullQueueFlushes, long WitnessedFlushes, long MigratedFlushes, long DepotPushes, long DepotTrims)
{
    /// <summary>The devices attached to the domain, in name order.</summary>
    public IReadOnlyList<string> Devices { get; init; } = [];
    /// <summary>The IO page table and IOTLB figures of the hardware model; null when it did not run.</summary>
    public IommuHardwareReport? Hardware { get; init; }
}

/// <summary>
/// The hardware model of one domain: IOTLB lookups by the device access model (hits, misses, page
/// walks and the page-table levels they read), invalidations (commands and pages), and the IO page
/// table's pages (4 KiB each) at their peak, with the leaves mapped as 2 MiB large pages.
/// </summary>
public sealed record IommuHardwareReport(
    string Iotlb, int IotlbEntries, int IotlbWays, long Lookups, long Hits, long Misses, long PageWalks, long WalkLevelsRead,
    long Invalidations, long InvalidatedPages, long PageTablePagesPeak, long PageTablePagesAtEnd, long LargePageMaps)
{
    public double HitRate => Lookups == 0 ? 0 : (double)Hits / Lookups;
}

/// <summary>Bytes SWIOTLB copied, by the operation that copied them.</summary>
public sealed record BounceBytes(long Map, long Unmap, long SyncForDevice, long SyncForCpu)
{
    public long ToDevice => Map + SyncForDevice;
    public long FromDevice => Unmap + SyncForCpu;
}

public sealed record SwiotlbAreaReport(int Area, int Used, int Index, int? RecordedUsed, int? RecordedIndex, IReadOnlyList<SeriesPoint> SlotsInUse);

public sealed record SwiotlbDeviceReport(string Device, long Bounces, long Failures, long BytesToDevice, long BytesFromDevice, long PeakSlots);

public sealed record SwiotlbReport(
    ulong PoolStart,
    string PoolSource,
    int Nslabs,
    int Nareas,
    bool Force,
    long UsedAtEnd,
    long? RecordedUsedAtEnd,
    long UsedHiwater,
    long? RecordedHiwater,
    long MapFailures,
    long BounceCopies,
    BounceBytes Bytes,
    long SearchSteps,
    long MaxSearchSteps,
    long Searches,
    IReadOnlyList<SwiotlbAreaReport> Areas,
    IReadOnlyList<SeriesPoint> SlotsInUse,
    IReadOnlyList<SeriesPoint> Failures,
    IReadOnlyList<SeriesPoint> LargestFreeRun,
    IReadOnlyList<SwiotlbDeviceReport> Devices);
