using System.Text.Json;
using DmaReplay.Engine.Replay;

namespace DmaReplay.Reports.Json;

/// <summary>
/// The keys a <c>replay</c> adds at the top level: "agreement", "swiotlb" (null without a pool) and
/// "platform". The time series stay out of JSON; the CSV timeline and the HTML charts hold them.
/// </summary>
public sealed partial class JsonExporter
{
    private static void WriteReplay(Utf8JsonWriter w, ReplayReport replay)
    {
        WriteAgreement(w, replay.Agreement);
        if (replay.Swiotlb is { } s) WriteSwiotlb(w, s);
        else w.WriteNull("swiotlb");
        var p = replay.Platform;
        w.WriteStartObject("platform");
        w.WriteString("name", p.Name);
        w.WriteBoolean("captureOwn", p.IsCaptureOwn);
        w.WriteNumber("cpus", p.Cpus);
        WriteStrings(w, "provenance", p.Provenance);
        w.WriteEndObject();
    }

    private static void WriteAgreement(Utf8JsonWriter w, AgreementReport a)
    {
        w.WriteStartObject("agreement");
        WriteTally(w, "direct", a.Direct);
        WriteTally(w, "swiotlb", a.Swiotlb);
        WriteTally(w, "iommu", a.Iommu);
        w.WriteStartObject("failures");
        w.WriteNumber("recorded", a.Failures.Recorded);
        w.WriteNumber("predicted", a.Failures.Predicted);
        w.WriteNumber("matched", a.Failures.Matched);
        w.WriteEndObject();
        w.WriteNumber("mismatchCount", a.MismatchCount);
        w.WriteStartArray("mismatches");
        foreach (var m in a.Mismatches)
        {
            w.WriteStartObject();
            w.WriteString("input", m.Input);
            w.WriteNumber("line", m.Line);
            w.WriteString("kind", m.Kind);
            w.WriteString("device", m.Device);
            w.WriteString("physAddr", ReportText.Hex(m.Phys));
            w.WriteNumber("size", m.Size);
            w.WriteString("recorded", ReportText.Hex(m.Recorded));
            w.WriteString("predicted", ReportText.Hex(m.Predicted));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTally(Utf8JsonWriter w, string name, Tally t)
    {
        w.WriteStartObject(name);
        w.WriteNumber("compared", t.Compared);
        w.WriteNumber("exact", t.Exact);
        w.WriteEndObject();
    }

    private static void WriteSwiotlb(Utf8JsonWriter w, SwiotlbReport s)
    {
        w.WriteStartObject("swiotlb");
        w.WriteString("poolStart", ReportText.Hex(s.PoolStart));
        w.WriteString("poolSource", s.PoolSource);
        w.WriteNumber("nslabs", s.Nslabs);
        w.WriteNumber("nareas", s.Nareas);
        w.WriteBoolean("force", s.Force);
        w.WriteNumber("usedAtEnd", s.UsedAtEnd);
        WriteNullable(w, "recordedUsedAtEnd", s.RecordedUsedAtEnd);
        w.WriteNumber("usedHiwater", s.UsedHiwater);
        WriteNullable(w, "recordedHiwater", s.RecordedHiwater);
        w.WriteNumber("mapFailures", s.MapFailures);
        w.WriteStartObject("bouncedBytes");
        w.WriteNumber("toDevice", s.Bytes.ToDevice);
        w.WriteNumber("fromDevice", s.Bytes.FromDevice);
        w.WriteStartObject("byOperation");
        w.WriteNumber("map", s.Bytes.Map);
        w.WriteNumber("unmap", s.Bytes.Unmap);
        w.WriteNumber("syncForDevice", s.Bytes.SyncForDevice);
        w.WriteNumber("syncForCpu", s.Bytes.SyncForCpu);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteNumber("bounceCopies", s.BounceCopies);
        w.WriteNumber("searches", s.Searches);
        w.WriteNumber("searchSteps", s.SearchSteps);
        w.WriteNumber("maxSearchSteps", s.MaxSearchSteps);
        w.WriteStartArray("areas");
        foreach (var a in s.Areas)
        {
            w.WriteStartObject();
            w.WriteNumber("area", a.Area);
            w.WriteNumber("used", a.Used);
            w.WriteNumber("index", a.Index);
            WriteNullable(w, "recordedUsed", a.RecordedUsed);
            WriteNullable(w, "recordedIndex", a.RecordedIndex);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("devices");
        foreach (var d in s.Devices)
        {
            w.WriteStartObject();
            w.WriteString("device", d.Device);
            w.WriteNumber("bounces", d.Bounces);
            w.WriteNumber("failures", d.Failures);
            w.WriteNumber("bytesToDevice", d.BytesToDevice);
            w.WriteNumber("bytesFromDevice", d.BytesFromDevice);
            w.WriteNumber("peakSlots", d.PeakSlots);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
