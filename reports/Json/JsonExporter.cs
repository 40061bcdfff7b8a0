using System.Text.Encodings.Web;
using System.Text.Json;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Summary;

namespace DmaReplay.Reports.Json;

/// <summary>
/// summary.json. Its keys are a contract (README, "summary.json"): later versions add keys and
/// never rename these. Written with Utf8JsonWriter in a fixed key order for byte-identical output.
/// </summary>
public sealed partial class JsonExporter : IReportExporter
{
    public const string FileName = "summary.json";

    public string Format => "json";

    public IReadOnlyList<string> Export(RunSummary summary, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var path = Path.Combine(outDir, FileName);
        WriteFile(summary, path);
        return [path];
    }

    public static void WriteFile(RunSummary summary, string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        Write(summary, stream);
    }

    public static void Write(RunSummary summary, Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Indented = true,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // readable; HTML never embeds this file
        });
        w.WriteStartObject();
        w.WriteStartObject("tool");
        w.WriteString("name", summary.Tool.Name);
        w.WriteString("version", summary.Tool.Version);
        w.WriteEndObject();

        w.WriteStartArray("inputs");
        foreach (var input in summary.Inputs) WriteInput(w, input);
        w.WriteEndArray();

        w.WriteStartArray("devices");
        foreach (var d in summary.Devices) WriteDevice(w, d);
        w.WriteEndArray();

        w.WriteStartArray("findings");
        foreach (var f in summary.Findings) WriteFinding(w, f);
        w.WriteEndArray();
        WriteCounts(w, "findingCounts", summary.FindingCounts);
        if (summary.Replay is { } replay) WriteReplay(w, replay);
        if (summary.Fences.Count > 0) WriteFences(w, summary.Fences);
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void WriteInput(Utf8JsonWriter w, InputSummary i)
    {
        w.WriteStartObject();
        w.WriteString("path", i.Path);
        w.WriteString("format", i.Format);
        w.WriteNumber("bytes", i.Bytes);
        w.WriteNumber("lines", i.Lines);
        w.WriteNumber("events", i.Events);
        WriteCounts(w, "eventsByType", i.EventsByType);
        WriteCounts(w, "otherEvents", i.OtherEvents);
        WriteCounts(w, "skipped", i.Skipped);
        w.WriteNumber("malformed", i.Malformed);
        w.WriteNumber("lostEvents", i.LostEvents);
        WriteNullable(w, "firstTimestampNs", i.FirstTimestampNs);
        WriteNullable(w, "lastTimestampNs", i.LastTimestampNs);
        w.WriteNumber("stackTraces", i.StackTraces);
        w.WriteNumber("stackFrames", i.StackFrames);
        if (i.ReadError is null) w.WriteNull("readError");
        else w.WriteString("readError", i.ReadError);
        w.WriteStartArray("diagnostics");
        foreach (var d in i.Diagnostics)
        {
            w.WriteStartObject();
            w.WriteNumber("line", d.Line);
            w.WriteNumber("offset", d.ByteOffset);
            w.WriteString("reason", d.Reason);
            w.WriteString("text", d.Excerpt);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteDevice(Utf8JsonWriter w, DeviceSummary d)
    {
        w.WriteStartObject();
        w.WriteString("name", d.Name);
        w.WriteString("input", d.Input);
        w.WriteNumber("events", d.Events);
        w.WriteNumber("maps", d.Maps);
        w.WriteNumber("mapFailures", d.MapFailures);
        w.WriteNumber("unmaps", d.Unmaps);
        w.WriteNumber("unmatchedUnmaps", d.UnmatchedUnmaps);
        w.WriteNumber("peakLiveMappings", d.PeakLiveMappings);
        w.WriteNumber("peakLiveBytes", d.PeakLiveBytes);
        w.WriteNumber("liveMappingsAtEnd", d.LiveMappingsAtEnd);
        w.WriteNumber("liveBytesAtEnd", d.LiveBytesAtEnd);
        w.WriteEndObject();
    }

    private static void WriteFinding(Utf8JsonWriter w, Finding f)
    {
        w.WriteStartObject();
        w.WriteString("rule", f.Rule);
        w.WriteString("severity", f.Severity.Key());
        w.WriteString("message", f.Message);
        w.WriteString("device", f.Device);
        w.WriteString("dmaAddr", ReportText.Hex(f.DmaAddr));
        w.WriteNumber("size", f.Size);
        w.WriteString("direction", f.Direction);
        w.WriteString("input", f.Input);
        w.WriteNumber("line", f.Line);
        w.WriteNumber("timestampNs", f.TimestampNs);
        w.WriteNumber("cpu", f.Cpu);
        w.WriteNumber("pid", f.Pid);
        w.WriteString("task", f.Task);
        if (f.Pool is not null) w.WriteString("pool", f.Pool); // pool rules only: other findings' JSON is unchanged
        if (f.Related is null) w.WriteNull("related");
        else
        {
            w.WriteStartObject("related");
            w.WriteString("input", f.Related.Input);
            w.WriteNumber("line", f.Related.Line);
            w.WriteNumber("timestampNs", f.Related.TimestampNs);
            w.WriteEndObject();
        }
        WriteStrings(w, "stack", f.Stack);
        WriteStrings(w, "relatedStack", f.RelatedStack);
        w.WriteEndObject();
    }

    /// <summary>"fences": per input, each fence timeline with its counts and latency distributions.</summary>
    private static void WriteFences(Utf8JsonWriter w, IReadOnlyList<InputFences> inputs)
    {
        w.WriteStartArray("fences");
        foreach (var input in inputs)
        {
            w.WriteStartObject();
            w.WriteString("input", input.Input);
            w.WriteStartArray("timelines");
            foreach (var t in input.Timelines)
            {
                w.WriteStartObject();
                w.WriteString("driver", t.Driver);
                w.WriteString("timeline", t.Timeline);
                w.WriteNumber("context", t.Context);
                w.WriteNumber("fences", t.Fences);
                w.WriteNumber("signaled", t.Signaled);
                WriteLatency(w, "emitToSignaled", t.EmitToSignaled);
                WriteLatency(w, "initToSignaled", t.InitToSignaled);
                WriteLatency(w, "wait", t.Wait);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteLatency(Utf8JsonWriter w, string name, DmaReplay.Engine.Fences.Latency l)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count", l.Count);
        w.WriteNumber("minNs", l.MinNs);
        w.WriteNumber("medianNs", l.MedianNs);
        w.WriteNumber("p90Ns", l.P90Ns);
        w.WriteNumber("maxNs", l.MaxNs);
        w.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, IReadOnlyList<string> items)
    {
        w.WriteStartArray(name);
        foreach (var s in items) w.WriteStringValue(s);
        w.WriteEndArray();
    }

    private static void WriteCounts(Utf8JsonWriter w, string name, IEnumerable<KeyValuePair<string, long>> counts)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in counts) w.WriteNumber(k, v);
        w.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } v) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
