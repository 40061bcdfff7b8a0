using DmaReplay.Engine.Findings;
using DmaReplay.Parsers;

namespace DmaReplay.Engine.Summary;

/// <summary>
/// The immutable result of a run: what every report format renders. Collections are ordered
/// deterministically (inputs as given, names ordinally) so the same input gives the same bytes.
/// </summary>
public sealed record RunSummary(
    ToolInfo Tool,
    IReadOnlyList<InputSummary> Inputs,
    IReadOnlyList<DeviceSummary> Devices,
    IReadOnlyList<Finding> Findings,
    IReadOnlyList<KeyValuePair<string, long>> FindingCounts)
{
    /// <summary>dma_fence timelines with their latencies, per input; empty when the trace has no fences.</summary>
    public IReadOnlyList<InputFences> Fences { get; init; } = [];

    /// <summary>The replay's platform, agreement and SWIOTLB metrics; null for <c>check</c>.</summary>
    public Replay.ReplayReport? Replay { get; init; }

    public long TotalEvents => Inputs.Sum(i => i.Events);
    public long TotalMalformed => Inputs.Sum(i => i.Malformed);
    public bool AnyInputUnreadable => Inputs.Any(i => i.ReadError is not null);
}

public sealed record ToolInfo(string Name, string Version);

/// <summary>The fence timelines of one input.</summary>
public sealed record InputFences(string Input, IReadOnlyList<Fences.FenceTimeline> Timelines);

public sealed record InputSummary(
    string Path,
    string Format,
    long Bytes,
    long Lines,
    long Events,
    IReadOnlyList<KeyValuePair<string, long>> EventsByType,
    IReadOnlyList<KeyValuePair<string, long>> OtherEvents,
    IReadOnlyList<KeyValuePair<string, long>> Skipped,
    long Malformed,
    long LostEvents,
    long? FirstTimestampNs,
    long? LastTimestampNs,
    long StackTraces,
    long StackFrames,
    IReadOnlyList<ParseDiagnostic> Diagnostics,
    string? ReadError);

public sealed record DeviceSummary(
    string Input,
    string Name,
    long Events,
    long Maps,
    long MapFailures,
    long Unmaps,
    long UnmatchedUnmaps,
    long PeakLiveMappings,
    ulong PeakLiveBytes,
    long LiveMappingsAtEnd,
    ulong LiveBytesAtEnd,
    IReadOnlyList<SeriesPoint> LiveMappingsOverTime);
