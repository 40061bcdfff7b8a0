using DmaReplay.Engine.Fences;
using DmaReplay.Engine.Summary;
using static DmaReplay.Reports.Tables.Column;
using static DmaReplay.Reports.Tables.ReportTables;

namespace DmaReplay.Reports.Tables;

/// <summary>
/// The dma_fence timelines of a run (summary.json "fences"): per input, driver and timeline
/// (context), how many fences and how many signaled, and the latency distributions in
/// nanoseconds — emit → signaled, init → signaled, and wait_start → wait_end.
/// </summary>
public static class FenceTables
{
    private static readonly (string Key, string Title)[] Latencies =
        [("emitToSignaled", "emit → signaled"), ("initToSignaled", "init → signaled"), ("wait", "wait")];

    public static ReportTable Timelines(IReadOnlyList<InputFences> inputs) => new("fences",
        [
            Text("input", "Input"), Text("driver", "Driver"), Text("timeline", "Timeline"), Number("context", "Context"),
            Number("fences", "Fences"), Number("signaled", "Signaled"),
            .. Latencies.SelectMany(l => LatencyColumns(l.Key, l.Title)),
        ],
        inputs.SelectMany(i => i.Timelines.Select(t => (IReadOnlyList<Cell>)
            [i.Input, t.Driver, t.Timeline, (long)t.Context, (long)t.Fences, (long)t.Signaled,
             .. LatencyCells(t.EmitToSignaled), .. LatencyCells(t.InitToSignaled), .. LatencyCells(t.Wait)])).ToList());

    private static IEnumerable<Column> LatencyColumns(string key, string title) =>
    [
        Number(key + "Count", title + ": count"), Number(key + "MinNs", title + ": min (ns)"), Number(key + "MedianNs", title + ": median (ns)"),
        Number(key + "P90Ns", title + ": p90 (ns)"), Number(key + "MaxNs", title + ": max (ns)"),
    ];

    // An empty distribution has no min or percentiles: empty cells, not zeros.
    private static Cell[] LatencyCells(Latency l) => l.Count == 0
        ? [0L, Cell.Empty, Cell.Empty, Cell.Empty, Cell.Empty]
        : [(long)l.Count, l.MinNs, l.MedianNs, l.P90Ns, l.MaxNs];
}
