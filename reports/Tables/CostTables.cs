using System.Globalization;
using DmaReplay.Engine.Cost;
using static DmaReplay.Reports.Tables.Column;
using static DmaReplay.Reports.Tables.ReportTables;

namespace DmaReplay.Reports.Tables;

/// <summary>The tables of a <see cref="CostReport"/>; column keys follow summary.json's "cost" keys.</summary>
public static class CostTables
{
    /// <summary>The cost tables of a replay, in report order.</summary>
    public static IReadOnlyList<ReportTable> All(CostReport r) => [Operations(r), Devices(r), ByTerm(r), Model(r)];

    private static Column[] Distribution() =>
    [
        Number("calls", "Calls"), Number("totalNs", "CPU total (ns)"), Number("minNs", "Min (ns)"), Number("p50Ns", "p50 (ns)"),
        Number("p90Ns", "p90 (ns)"), Number("p99Ns", "p99 (ns)"), Number("maxNs", "Max (ns)"), Number("deviceNs", "Device (ns)"),
    ];

    private static Cell[] Cells(CostOpReport o) =>
        [o.Cpu.Calls, o.Cpu.TotalNs, o.Cpu.MinNs, o.Cpu.P50Ns, o.Cpu.P90Ns, o.Cpu.P99Ns, o.Cpu.MaxNs, o.DeviceNs];

    /// <summary>One row per operation: the CPU-time distribution per call, device time, and what the stack did.</summary>
    public static ReportTable Operations(CostReport? r) => new("cost-operations",
        [
            Text("op", "Operation"), .. Distribution(),
            Number("sgEntries", "sg entries"), Number("iovaRcacheHits", "IOVA cache hits"), Number("iovaRcacheMisses", "IOVA tree allocations"),
            Number("ptesMapped", "PTEs written"), Number("ptesUnmapped", "PTEs cleared"), Number("invalidations", "Invalidations"),
            Number("invalidatedPages", "Invalidated pages"), Number("iotlbMisses", "IOTLB misses"), Number("walkLevels", "Walk levels"),
            Number("slotSearchSteps", "Slot-search steps"), Number("bounceBytes", "Bounce bytes"), Number("cacheLines", "Cache lines"),
        ],
        (r?.Operations ?? []).Select(o =>
        {
            var c = o.Counts;
            return Row([o.Op, .. Cells(o), c.SgEntries, c.IovaRcacheHits, c.IovaRcacheMisses, c.PtesMapped, c.PtesUnmapped, c.Invalidations,
                c.InvalidatedPages, c.IotlbMisses, c.WalkLevels, c.SlotSearchSteps, c.BounceBytes, c.CacheLines]);
        }).ToList());

    /// <summary>One row per (device, operation).</summary>
    public static ReportTable Devices(CostReport? r) => new("cost-devices",
        [Text("device", "Device"), Text("op", "Operation"), .. Distribution()],
        (r?.Devices ?? []).SelectMany(d => d.Operations.Select(o => Row([d.Device, o.Op, .. Cells(o)]))).ToList());

    /// <summary>The model: every term's value and unit, then the CPU time each term accounts for in this replay.</summary>
    public static ReportTable Model(CostReport? r) => new("cost-model",
        [Text("term", "Term"), Text("value", "Value"), Text("unit", "Unit")],
        (r?.Terms ?? []).Select(t => Row(t.Key, Decimal(t.Value), CostTerms.Find(t.Key)?.Unit)).ToList());

    public static ReportTable ByTerm(CostReport? r) => new("cost-by-term",
        [Text("term", "Term"), Number("cpuNs", "CPU (ns)")],
        (r?.CpuNsByTerm ?? []).Select(t => Row(t.Key, t.Value)).ToList());

    /// <summary>A term's value as the cost file writes it: shortest round-trip, invariant culture.</summary>
    public static string Decimal(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
