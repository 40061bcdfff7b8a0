using DmaReplay.Engine.Checks;
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

    /// <summary>Replays <paramref name="tracePath"/> on <paramref name="platform"/>.</summary>
    public RunSummary Run(string displayPath, string tracePath, PlatformModel platform, CaptureFacts? facts, bool captureOwn)
    {
        if (platform.Swiotlb.Active && platform.Swiotlb.Start is null)
            platform = PoolInference.Infer(tracePath, platform);

        Strings = new TraceStrings();
        var builder = new TraceSummaryBuilder();
        var sink = new FindingSink(checks, Strings, displayPath);
        var checker = new MisuseChecker(checks, sink);
        var fences = new Fences.FenceChecker(sink);
        var engine = new ReplayEngine(platform, facts, captureOwn, Strings, displayPath, new EventFanout(builder, checker, fences));
        InputStatistics stats;
        try
        {
            stats = TraceFiles.Read(tracePath, displayPath, 0, Strings, engine);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stats = new InputStatistics(displayPath, 0, Strings);
            stats.MarkUnreadable(ex.Message);
        }
        var replay = engine.Finish();
        checker.Finish(builder.Devices);
        fences.Finish();
        Suppressed = sink.Suppressed;
        var input = CheckRun.Summarize(stats);
        var devices = builder.Devices.Select(d => CheckRun.Summarize(Strings, displayPath, d)).ToList();
        var findings = sink.Findings.ToList();
        var timelines = fences.Timelines();
        return new RunSummary(CheckRun.Tool, [input], devices, findings, CheckRun.CountByRule(findings))
        {
            Replay = replay,
            Fences = timelines.Count > 0 ? [new InputFences(displayPath, timelines)] : [],
        };
    }
}
