using System.Text.Json;
using DmaReplay.Engine.Coherency;

namespace DmaReplay.Reports.Json;

/// <summary>"coherency": present only in a replay with a non-coherent device (README, summary.json).</summary>
public sealed partial class JsonExporter
{
    private static void WriteCoherency(Utf8JsonWriter w, CoherencyReport r)
    {
        w.WriteStartObject("coherency");
        w.WriteNumber("lineBytes", r.LineBytes);
        w.WriteNumber("dmaCacheAlignment", r.DmaCacheAlignment);
        w.WriteNumber("archDmaMinalign", r.ArchDmaMinalign);
        w.WriteBoolean("bounceUnalignedKmalloc", r.BounceUnalignedKmalloc);
        w.WriteNumber("lines", r.TotalLines);
        w.WriteStartObject("linesByOperation");
        for (int o = 0; o < CoherencyOperations.Count; o++) w.WriteNumber(((CoherencyOperation)o).Key(), r.LinesOf((CoherencyOperation)o));
        w.WriteEndObject();
        w.WriteNumber("kmallocBounces", r.KmallocBounces);
        w.WriteStartArray("devices");
        foreach (var d in r.Devices)
        {
            w.WriteStartObject();
            w.WriteString("device", d.Device);
            w.WriteNumber("lines", d.Lines);
            w.WriteStartObject("operations");
            foreach (var o in d.Operations)
            {
                w.WriteStartObject(o.Operation.Key());
                w.WriteNumber("calls", o.Calls);
                w.WriteNumber("noMaintenance", o.NoMaintenance);
                w.WriteNumber("skippedByAttr", o.SkippedByAttr);
                w.WriteNumber("clean", o.CleanOps);
                w.WriteNumber("invalidate", o.InvalidateOps);
                w.WriteNumber("cleanInvalidate", o.CleanInvalidateOps);
                w.WriteNumber("linesCleaned", o.LinesCleaned);
                w.WriteNumber("linesInvalidated", o.LinesInvalidated);
                w.WriteNumber("linesCleanInvalidated", o.LinesCleanInvalidated);
                w.WriteNumber("lines", o.Lines);
                w.WriteNumber("bytes", o.Bytes);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteNumber("kmallocBounces", d.KmallocBounces);
            w.WriteNumber("kmallocBounceBytes", d.KmallocBounceBytes);
            w.WriteStartArray("kmallocBounceSizes");
            foreach (var s in d.KmallocBounceSizes)
            {
                w.WriteStartObject();
                w.WriteNumber("size", s.Size);
                w.WriteNumber("count", s.Count);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("uncachedRemaps", d.UncachedRemaps);
            w.WriteNumber("atomicPoolAllocs", d.AtomicPoolAllocs);
            w.WriteNumber("syncsSkipped", d.SyncsSkipped);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("kmallocExamples");
        foreach (var x in r.KmallocExamples)
        {
            w.WriteStartObject();
            w.WriteString("input", x.Input);
            w.WriteNumber("line", x.Line);
            w.WriteString("device", x.Device);
            w.WriteString("physAddr", ReportText.Hex(x.Phys));
            w.WriteNumber("size", x.Size);
            w.WriteString("direction", x.Direction);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
