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
}

/// <summary>The platform a replay ran on and where each fact came from.</summary>
public sealed record PlatformReport(string Name, bool IsCaptureOwn, int Cpus, IReadOnlyList<string> Provenance);

public sealed record Tally(long Compared, long Exact)
{
    public double Ratio => Compared == 0 ? 1 : (double)Exact / Compared;
}

public sealed record FailureTally(long Recorded, long Predicted, long Matched);

/// <summary>A map whose emulated result differs from what the kernel returned.</summary>
public sealed record Mismatch(string Input, long Line, string Kind, string Device, ulong Phys, ulong Size, ulong Recorded, ulong Predicted);

/// <summary>Direct: dma-direct addresses; Swiotlb: bounce addresses; Iommu: IOVAs of translated devices (maps, sg segments, coherent allocations).</summary>
public sealed record AgreementReport(Tally Direct, Tally Swiotlb, Tally Iommu, FailureTally Failures, long MismatchCount, IReadOnlyList<Mismatch> Mismatches);

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
    long TimerFlushes, long FullQueueFlushes, long WitnessedFlushes, long MigratedFlushes, long DepotPushes, long DepotTrims);

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
