using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Cost;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Inputs;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// One <c>replay</c>: the platform (the capture's own, a file or a preset, with --set), the
/// SWIOTLB pool inferred from the trace when the capture did not record it, then one pass of
/// reader → replay engine → summary and misuse checks on the replayed stream.
/// </summary>
public sealed class ReplayRun(CheckOptions checks)
{
    public TraceStrings Strings { get; private set; } = new();
    public long Suppressed { get; private set; }

    /// <summary>Replays <paramref name="tracePath"/> on <paramref name="platform"/>, with a cost estimate when <paramref name="cost"/> is given.</summary>
    public RunSummary Run(string displayPath, string tracePath, PlatformModel platform, CaptureFacts? facts, bool captureOwn, CostModel? cost = null)
    {
        Strings = new TraceStrings();
        var pipeline = new ReplayPipeline(checks, Strings, displayPath, tracePath, platform, facts, captureOwn, cost);
        var summary = pipeline.Finish(Read(Strings, pipeline.Engine, displayPath, tracePath));
        Suppressed = pipeline.Suppressed;
        return summary;
    }

    /// <summary>Reads the trace into <paramref name="handler"/>; an input that cannot be read is marked unreadable, not thrown.</summary>
    internal static InputStatistics Read(TraceStrings strings, ITraceEventHandler handler, string displayPath, string tracePath)
    {
        try
        {
            return TraceFiles.Read(tracePath, displayPath, 0, strings, handler);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var stats = new InputStatistics(displayPath, 0, strings);
            stats.MarkUnreadable(ex.Message);
            return stats;
        }
    }
}

/// <summary>One replay's consumers: the engine and, behind it, the summary, the misuse checks, the fence and the pool checks.</summary>
internal sealed class ReplayPipeline
{
    private readonly TraceStrings _strings;
    private readonly string _displayPath;
    private readonly TraceSummaryBuilder _builder = new();
    private readonly FindingSink _sink;
    private readonly MisuseChecker _checker;
    private readonly Fences.FenceChecker _fences;

    public ReplayPipeline(CheckOptions checks, TraceStrings strings, string displayPath, string tracePath, PlatformModel platform,
        CaptureFacts? facts, bool captureOwn, CostModel? cost)
    {
        if (platform.Swiotlb.Active && platform.Swiotlb.Start is null)
            platform = PoolInference.Infer(tracePath, platform);
        _strings = strings;
        _displayPath = displayPath;
        _sink = new FindingSink(checks, strings, displayPath);
        _checker = new MisuseChecker(checks, _sink);
        _fences = new Fences.FenceChecker(_sink);
        Engine = new ReplayEngine(platform, facts, captureOwn, strings, displayPath,
            new EventFanout(_builder, _checker, _fences, new Pools.PoolChecker(_sink)), cost);
        _checker.BounceWitness = Engine; // the emulated bounce decisions, not the capture's swiotlb_bounced lines
    }

    public ReplayEngine Engine { get; }
    public long Suppressed => _sink.Suppressed;

    public RunSummary Finish(InputStatistics stats)
    {
        var replay = Engine.Finish();
        _checker.Finish(_builder.Devices);
        _fences.Finish();
        var input = CheckRun.Summarize(stats);
        var devices = _builder.Devices.Select(d => CheckRun.Summarize(_strings, _displayPath, d)).ToList();
        var findings = _sink.Findings.ToList();
        var timelines = _fences.Timelines();
        return new RunSummary(CheckRun.Tool, [input], devices, findings, CheckRun.CountByRule(findings))
        {
            Replay = replay,
            Fences = timelines.Count > 0 ? [new InputFences(_displayPath, timelines)] : [],
        };
    }
}
