using System.Text.Json;
using DmaReplay.Engine.Cost;

namespace DmaReplay.Reports.Json;

/// <summary>
/// summary.json's "cost" (a replay with --cost): the model (name, sources, terms), the totals with
/// the CPU time by term, then per operation and per device the distribution of CPU ns per call.
/// </summary>
public sealed partial class JsonExporter
{
    internal static void WriteCost(Utf8JsonWriter w, CostReport c)
    {
        w.WriteStartObject("cost");
        w.WriteString("model", c.Model);
        WriteStrings(w, "sources", c.Sources);
        w.WriteStartObject("terms");
        foreach (var (key, value) in c.Terms) w.WriteNumber(key, value);
        w.WriteEndObject();
        w.WriteNumber("calls", c.Calls);
        w.WriteNumber("cpuNs", c.CpuNs);
        w.WriteNumber("deviceNs", c.DeviceNs);
        WriteCounts(w, "cpuNsByTerm", c.CpuNsByTerm);
        w.WriteStartArray("operations");
        foreach (var o in c.Operations) WriteCostOp(w, o, counts: true);
        w.WriteEndArray();
        w.WriteStartArray("devices");
        foreach (var d in c.Devices)
        {
            w.WriteStartObject();
            w.WriteString("device", d.Device);
            w.WriteNumber("calls", d.Calls);
            w.WriteNumber("cpuNs", d.CpuNs);
            w.WriteNumber("deviceNs", d.DeviceNs);
            w.WriteStartArray("operations");
            foreach (var o in d.Operations) WriteCostOp(w, o, counts: false);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    internal static void WriteCostOp(Utf8JsonWriter w, CostOpReport o, bool counts)
    {
        w.WriteStartObject();
        w.WriteString("op", o.Op);
        var d = o.Cpu;
        w.WriteNumber("calls", d.Calls);
        w.WriteNumber("totalNs", d.TotalNs);
        w.WriteNumber("minNs", d.MinNs);
        w.WriteNumber("p50Ns", d.P50Ns);
        w.WriteNumber("p90Ns", d.P90Ns);
        w.WriteNumber("p99Ns", d.P99Ns);
        w.WriteNumber("maxNs", d.MaxNs);
        w.WriteNumber("deviceNs", o.DeviceNs);
        if (counts)
        {
            var c = o.Counts;
            w.WriteStartObject("counts");
            w.WriteNumber("sgEntries", c.SgEntries);
            w.WriteNumber("iovaRcacheHits", c.IovaRcacheHits);
            w.WriteNumber("iovaRcacheMisses", c.IovaRcacheMisses);
            w.WriteNumber("ptesMapped", c.PtesMapped);
            w.WriteNumber("ptesUnmapped", c.PtesUnmapped);
            w.WriteNumber("invalidations", c.Invalidations);
            w.WriteNumber("invalidatedPages", c.InvalidatedPages);
            w.WriteNumber("iotlbMisses", c.IotlbMisses);
            w.WriteNumber("walkLevels", c.WalkLevels);
            w.WriteNumber("slotSearchSteps", c.SlotSearchSteps);
            w.WriteNumber("bounceBytes", c.BounceBytes);
            w.WriteNumber("cacheLines", c.CacheLines);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }
}
