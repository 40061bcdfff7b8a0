using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Cost;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>One variant of a <c>replay --compare</c>: its label ("iommu.mode=strict") and the settings it adds.</summary>
public sealed record CompareVariant(string Label, IReadOnlyList<string> Settings)
{
    public const int MaxVariants = 16;

    /// <summary>
    /// "KEY=v1,v2[,…]" per --compare; several keys give every combination, in the order given
    /// (the first key varies slowest). A key given twice, a value list with an empty value or
    /// more than <see cref="MaxVariants"/> variants is a <see cref="FormatException"/>.
    /// </summary>
    public static IReadOnlyList<CompareVariant> Parse(IReadOnlyList<string> compare)
    {
        var axes = new List<(string Key, string[] Values)>();
        foreach (var c in compare)
        {
            int eq = c.IndexOf('=');
            if (eq <= 0) throw new FormatException($"--compare takes KEY=v1,v2[,...], not '{c}'");
            string key = c[..eq].Trim();
            var values = c[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries);
            if (values.Length < 2 && compare.Count == 1) throw new FormatException($"--compare {key}: give at least two values to compare, not '{c[(eq + 1)..]}'");
            if (values.Any(v => v.Length == 0)) throw new FormatException($"--compare {key}: an empty value in '{c[(eq + 1)..]}'");
            if (values.Distinct(StringComparer.Ordinal).Count() != values.Length) throw new FormatException($"--compare {key}: a value is given twice");
            if (axes.Any(a => a.Key == key)) throw new FormatException($"--compare {key}: the key is given twice");
            axes.Add((key, values));
        }
        if (axes.Count == 0) throw new FormatException("--compare: no KEY=v1,v2 given");
        long count = axes.Aggregate(1L, (n, a) => n * a.Values.Length);
        if (count > MaxVariants) throw new FormatException($"--compare: {count} variants, at most {MaxVariants}");
        IEnumerable<List<string>> combos = [[]];
        foreach (var (key, values) in axes)
            combos = combos.SelectMany(prefix => values.Select(v => new List<string>(prefix) { $"{key}={v}" })).ToList();
        return combos.Select(s => new CompareVariant(string.Join(" ", s), s)).ToList();
    }
}

/// <summary>
/// A <c>replay --compare</c>: one emulated stack per variant (its platform, capture-own flag and
/// cost model), all fed from one pass of the reader over the input (<see cref="EventFanout"/>).
/// Each variant's summary is what a plain replay on its platform gives.
/// </summary>
public sealed class CompareRun(CheckOptions checks)
{
    public TraceStrings Strings { get; private set; } = new();

    public IReadOnlyList<RunSummary> Run(string displayPath, string tracePath,
        IReadOnlyList<(PlatformModel Platform, bool CaptureOwn, CostModel Cost)> variants, CaptureFacts? facts)
    {
        Strings = new TraceStrings();
        var pipelines = variants
            .Select(v => new ReplayPipeline(checks with { Platform = CheckPlatform.From(v.Platform) }, Strings, displayPath, tracePath,
                v.Platform, facts, v.CaptureOwn, v.Cost))
            .ToList();
        // Each engine translates the event it is given in place, so each gets its own copy.
        var stats = ReplayRun.Read(Strings, new EventFanout([.. pipelines.Select(p => (ITraceEventHandler)new OwnCopy(p.Engine))]), displayPath, tracePath);
        // Each summary reads the statistics; they are the same input's, so every variant gets them.
        return pipelines.Select(p => p.Finish(stats)).ToList();
    }
}

/// <summary>Hands <paramref name="next"/> a private copy of each event, for a consumer that changes it.</summary>
internal sealed class OwnCopy(ITraceEventHandler next) : ITraceEventHandler
{
    private readonly DmaEvent _copy = new();

    public void OnEvent(DmaEvent e)
    {
        _copy.CopyFrom(e);
        next.OnEvent(_copy);
    }
}
