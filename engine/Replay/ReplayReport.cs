using DmaReplay.Engine.Summary;

namespace DmaReplay.Engine.Replay;

/// <summary>What a replay found: the platform used, agreement with the recorded addresses, SWIOTLB metrics.</summary>
public sealed record ReplayReport(
    PlatformReport Platform,
    AgreementReport Agreement,
    SwiotlbReport? Swiotlb);

/// <summary>The platform a replay ran on and where each fact came from.</summary>
public sealed record PlatformReport(string Name, bool IsCaptureOwn, int Cpus, IReadOnlyList<string> Provenance);

public sealed record Tally(long Compared, long Exact)
{
    public double Ratio => Compared == 0 ? 1 : (double)Exact / Compared;
}

public sealed record FailureTally(long Recorded, long Predicted, long Matched);

/// <summary>A map whose emulated result differs from what the kernel returned.</summary>
public sealed record Mismatch(string Input, long Line, string Kind, string Device, ulong Phys, ulong Size, ulong Recorded, ulong Predicted);

public sealed record AgreementReport(Tally Direct, Tally Swiotlb, FailureTally Failures, long MismatchCount, IReadOnlyList<Mismatch> Mismatches);

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
