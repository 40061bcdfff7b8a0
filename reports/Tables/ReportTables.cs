using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Summary;
using static DmaReplay.Reports.Tables.Column;

namespace DmaReplay.Reports.Tables;

/// <summary>
/// The tables of a <see cref="RunSummary"/>, in model order. Column keys follow the keys of
/// summary.json so a column means the same in every format.
/// </summary>
public static class ReportTables
{
    public static ReportTable Inputs(IEnumerable<InputSummary> inputs) => new("inputs",
        [
            Text("path", "Path"), Text("format", "Format"), Number("bytes", "Bytes"), Number("lines", "Lines"),
            Number("events", "Events"), Number("malformed", "Malformed"), Number("lostEvents", "Lost events"),
            Number("firstTimestampNs", "First timestamp (ns)"), Number("lastTimestampNs", "Last timestamp (ns)"),
            Number("stackTraces", "Stack traces"), Number("stackFrames", "Stack frames"), Text("readError", "Read error"),
        ],
        inputs.Select(i => Row(i.Path, i.Format, i.Bytes, i.Lines, i.Events, i.Malformed, i.LostEvents,
            i.FirstTimestampNs, i.LastTimestampNs, i.StackTraces, i.StackFrames, i.ReadError)).ToList());

    /// <summary>DMA events by type, then the other (non-DMA) events the trace named, per input.</summary>
    public static ReportTable EventCounts(IEnumerable<InputSummary> inputs) => new("event-counts",
        [Text("input", "Input"), Text("kind", "Kind"), Text("event", "Event"), Number("count", "Count")],
        inputs.SelectMany(i =>
            i.EventsByType.Select(e => Row(i.Path, "dma", e.Key, e.Value))
                .Concat(i.OtherEvents.Select(e => Row(i.Path, "other", e.Key, e.Value)))).ToList());

    public static ReportTable Skipped(IEnumerable<InputSummary> inputs) => new("skipped",
        [Text("input", "Input"), Text("reason", "Reason"), Number("count", "Lines")],
        inputs.SelectMany(i => i.Skipped.Select(s => Row(i.Path, s.Key, s.Value))).ToList());

    public static ReportTable Devices(IEnumerable<DeviceSummary> devices) => new("devices",
        [
            Text("input", "Input"), Text("name", "Device"), Number("events", "Events"), Number("maps", "Maps"),
            Number("mapFailures", "Map failures"), Number("unmaps", "Unmaps"), Number("unmatchedUnmaps", "Unmatched unmaps"),
            Number("peakLiveMappings", "Peak live mappings"), Number("peakLiveBytes", "Peak live bytes"),
            Number("liveMappingsAtEnd", "Live mappings at end"), Number("liveBytesAtEnd", "Live bytes at end"),
        ],
        devices.Select(d => Row(d.Input, d.Name, d.Events, d.Maps, d.MapFailures, d.Unmaps, d.UnmatchedUnmaps,
            d.PeakLiveMappings, d.PeakLiveBytes, d.LiveMappingsAtEnd, d.LiveBytesAtEnd)).ToList());

    /// <summary>The diagnostics each input kept (the reader keeps a bounded number).</summary>
    public static ReportTable Diagnostics(IEnumerable<InputSummary> inputs) => new("diagnostics",
        [Text("input", "Input"), Number("line", "Line"), Number("offset", "Byte offset"), Text("reason", "Reason"), Text("text", "Excerpt")],
        inputs.SelectMany(i => i.Diagnostics.Select(d => Row(d.Input, d.Line, d.ByteOffset, d.Reason, d.Excerpt))).ToList());

    /// <summary>
    /// Every finding. The last column, <c>pool</c> (the dma_pool a pool rule names, as summary.json's
    /// finding key "pool"), is there only when some finding names a pool: the columns before it
    /// keep their places, and the findings of a run without pool findings are written as before.
    /// </summary>
    public static ReportTable Findings(IEnumerable<Finding> findings)
    {
        var list = findings as IReadOnlyList<Finding> ?? findings.ToList();
        bool pools = list.Any(f => f.Pool is not null);
        Column[] columns =
        [
            Text("rule", "Rule"), Text("severity", "Severity"), Text("message", "Message"), Text("device", "Device"),
            Text("dmaAddr", "DMA address"), Number("size", "Size"), Text("direction", "Direction"), Text("input", "Input"),
            Number("line", "Line"), Number("timestampNs", "Timestamp (ns)"), Number("cpu", "CPU"), Number("pid", "PID"),
            Text("task", "Task"), Text("relatedInput", "Related input"), Number("relatedLine", "Related line"),
            Number("relatedTimestampNs", "Related timestamp (ns)"), Text("stack", "Stack"), Text("relatedStack", "Related stack"),
            .. pools ? [Text("pool", "Pool")] : Array.Empty<Column>(),
        ];
        return new("findings", columns,
            list.Select(f => Row([f.Rule, f.Severity.Key(), f.Message, f.Device, ReportText.Hex(f.DmaAddr), f.Size,
                f.Direction, f.Input, f.Line, f.TimestampNs, f.Cpu, f.Pid, f.Task,
                f.Related?.Input, f.Related?.Line, f.Related?.TimestampNs,
                ReportText.Stack(f.Stack), ReportText.Stack(f.RelatedStack),
                .. pools ? [(Cell)f.Pool] : Array.Empty<Cell>()])).ToList());
    }

    internal static IReadOnlyList<Cell> Row(params Cell[] cells) => cells;
}
