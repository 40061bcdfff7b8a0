using System.Reflection;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Inputs;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine;

/// <summary>
/// One <c>check</c> run: reads every input as its own trace (its own devices, live mappings and
/// dma-debug state), runs the misuse checks on it, and builds the <see cref="RunSummary"/> the
/// reports render.
/// </summary>
public sealed class CheckRun(CheckOptions options, string? platformArg = null, IReadOnlyList<string>? settings = null)
{
    public CheckRun() : this(new CheckOptions()) { }

    /// <summary>
    /// The checks for one input: the platform of its bundle (or --platform), with --set, decides
    /// the cache-line and segment facts. Without a bundle, --platform or --set, the options as given.
    /// </summary>
    private CheckOptions OptionsFor(ResolvedInput input)
    {
        if (input.BundleDir is null && platformArg is null && (settings is null || settings.Count == 0)) return options;
        var (platform, _, _) = Platform.PlatformSource.Resolve(input.BundleDir ?? input.OpenPath, platformArg, settings ?? []);
        return options with { Platform = CheckPlatform.From(platform) };
    }

    public static ToolInfo Tool { get; } = new("dmareplay",
        typeof(CheckRun).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0");

    public TraceStrings Strings { get; } = new();

    /// <summary>Findings dropped by the suppression list.</summary>
    public long Suppressed { get; private set; }

    public RunSummary Run(IReadOnlyList<ResolvedInput> inputs)
    {
        var inputSummaries = new List<InputSummary>();
        var devices = new List<DeviceSummary>();
        var findings = new List<Finding>();
        var fenceSummaries = new List<InputFences>();
        for (int i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var builder = new TraceSummaryBuilder();
            var inputOptions = input.Error is null ? OptionsFor(input) : options;
            var sink = new FindingSink(inputOptions, Strings, input.DisplayPath);
            var checker = new MisuseChecker(inputOptions, sink);
            var fences = new Fences.FenceChecker(sink);
            var pools = new Pools.PoolChecker(sink);
            InputStatistics stats;
            if (input.Error is not null)
            {
                stats = Unreadable(input, i, input.Error);
            }
            else
            {
                try
                {
                    stats = TraceFiles.Read(input.OpenPath, input.DisplayPath, i, Strings, new EventFanout(builder, checker, fences, pools));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    stats = Unreadable(input, i, ex.Message);
                }
            }
            checker.Finish(builder.Devices);
            fences.Finish();
            findings.AddRange(sink.Findings);
            Suppressed += sink.Suppressed;
            if (fences.Timelines() is { Count: > 0 } timelines) fenceSummaries.Add(new InputFences(input.DisplayPath, timelines));
            inputSummaries.Add(Summarize(stats));
            devices.AddRange(builder.Devices.Select(d => Summarize(input.DisplayPath, d)));
        }
        return new RunSummary(Tool, inputSummaries, devices, findings, CountByRule(findings)) { Fences = fenceSummaries };
    }

    private InputStatistics Unreadable(ResolvedInput input, int index, string reason)
    {
        var stats = new InputStatistics(input.DisplayPath, index, Strings);
        stats.MarkUnreadable(reason);
        return stats;
    }

    public static IReadOnlyList<KeyValuePair<string, long>> CountByRule(IEnumerable<Finding> findings) =>
        findings.GroupBy(f => f.Rule).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => KeyValuePair.Create(g.Key, (long)g.Count())).ToList();

    public static InputSummary Summarize(InputStatistics s)
    {
        var byType = new List<KeyValuePair<string, long>>();
        for (int k = 0; k < DmaEventKinds.Count; k++)
        {
            long n = s.EventsByKind[k];
            if (n > 0) byType.Add(KeyValuePair.Create(((DmaEventKind)k).Name(), n));
        }
        byType.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var skipped = new List<KeyValuePair<string, long>>();
        for (int r = 0; r < SkipReasons.Count; r++)
        {
            long n = s.SkippedCount((SkipReason)r);
            if (n > 0) skipped.Add(KeyValuePair.Create(((SkipReason)r).Key(), n));
        }
        skipped.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new InputSummary(s.Path, s.Format, s.Bytes, s.Lines, s.Events, byType, s.OtherEvents, skipped,
            s.Malformed, s.LostEvents, s.FirstTimestampNs, s.LastTimestampNs, s.StackTraces, s.StackFrames,
            s.Diagnostics.ToList(), s.ReadError);
    }

    private DeviceSummary Summarize(string input, DeviceActivity d) => Summarize(Strings, input, d);

    public static DeviceSummary Summarize(TraceStrings strings, string input, DeviceActivity d) => new(
        input, strings.Device(d.Device), d.Events, d.Maps, d.MapFailures, d.Unmaps, d.UnmatchedUnmaps,
        d.PeakLiveMappings, d.PeakLiveBytes, d.LiveMappings, d.LiveBytes, d.LiveMappingsOverTime.Points());
}
