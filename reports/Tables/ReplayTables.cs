using DmaReplay.Engine.Pools;
using DmaReplay.Engine.Replay;
using DmaReplay.Engine.Summary;
using static DmaReplay.Reports.Tables.Column;
using static DmaReplay.Reports.Tables.ReportTables;

namespace DmaReplay.Reports.Tables;

/// <summary>
/// The tables of a <see cref="ReplayReport"/>. Column keys follow summary.json's "agreement" and
/// "swiotlb" keys; a replay without SWIOTLB gives the SWIOTLB tables with no rows.
/// </summary>
public static class ReplayTables
{
    /// <summary>
    /// Compared and exact addresses per path, then the map-failure tally; with <paramref name="pools"/>
    /// the allocators' addresses (dma_pool blocks, device or global coherent memory, atomic pools)
    /// and the allocation-failure tally, each only where it compared something (as summary.json's
    /// "agreement" and "pools.allocationFailures"), so other replays' table is unchanged.
    /// </summary>
    public static ReportTable Agreement(AgreementReport a, PoolsReport? pools = null) => new("agreement",
        [
            Text("kind", "Kind"), Number("compared", "Compared"), Number("exact", "Exact"),
            Number("recorded", "Recorded"), Number("predicted", "Predicted"), Number("matched", "Matched"),
        ],
        [
            Row("direct", a.Direct.Compared, a.Direct.Exact, Cell.Empty, Cell.Empty, Cell.Empty),
            Row("swiotlb", a.Swiotlb.Compared, a.Swiotlb.Exact, Cell.Empty, Cell.Empty, Cell.Empty),
            Row("iommu", a.Iommu.Compared, a.Iommu.Exact, Cell.Empty, Cell.Empty, Cell.Empty),
            Row("failures", Cell.Empty, Cell.Empty, a.Failures.Recorded, a.Failures.Predicted, a.Failures.Matched),
            .. a.IommuPageTable is { } pt ? [Row("iommu_page_table", pt.Compared, pt.Exact, Cell.Empty, Cell.Empty, Cell.Empty)] : Array.Empty<IReadOnlyList<Cell>>(),
            .. PoolAgreementRows(pools),
        ]);

    private static IEnumerable<IReadOnlyList<Cell>> PoolAgreementRows(PoolsReport? p)
    {
        if (p is null) yield break;
        if (p.DmaPoolAgreement is { } dp) yield return Row("dma_pool", dp.Compared, dp.Exact, Cell.Empty, Cell.Empty, Cell.Empty);
        if (p.DevCoherentAgreement is { } dc) yield return Row("dev_coherent", dc.Compared, dc.Exact, Cell.Empty, Cell.Empty, Cell.Empty);
        if (p.AtomicPoolAgreement is { } ap) yield return Row("atomic_pool", ap.Compared, ap.Exact, Cell.Empty, Cell.Empty, Cell.Empty);
        if (p.AllocationFailuresCompared)
        {
            var f = p.AllocationFailures;
            yield return Row("allocation_failures", Cell.Empty, Cell.Empty, f.Recorded, f.Predicted, f.Matched);
        }
    }

    /// <summary>The mismatches the replay kept (the first <see cref="ReplayEngine.MaxMismatches"/>).</summary>
    public static ReportTable Mismatches(IEnumerable<Mismatch> mismatches) => new("mismatches",
        [
            Text("input", "Input"), Number("line", "Line"), Text("kind", "Kind"), Text("device", "Device"),
            Text("physAddr", "Physical address"), Number("size", "Size"), Text("recorded", "Recorded"), Text("predicted", "Predicted"),
        ],
        mismatches.Select(m => Row(m.Input, m.Line, m.Kind, m.Device, ReportText.Hex(m.Phys), m.Size,
            ReportText.Hex(m.Recorded), ReportText.Hex(m.Predicted))).ToList());

    /// <summary>One row per dma-iommu domain; keys follow summary.json's "iommu" domains, the hardware figures prefixed "iotlb"/"pageTable".</summary>
    public static ReportTable IommuDomains(IommuReport? r) => new("iommu-domains",
        [
            Text("domain", "Domain"), Text("mode", "Mode"), Text("devices", "Devices"), Number("allocations", "IOVA allocations"),
            Number("rcacheHits", "Range-cache hits"), Number("treeAllocations", "Tree allocations"), Number("failures", "Failures"),
            Number("rcacheFlushes", "Range-cache flushes"), Number("peakMappedBytes", "Peak mapped (bytes)"),
            Number("peakHeldBytes", "Peak IOVA held (bytes)"), Text("lowestIova", "Lowest IOVA"), Number("mappedAtEndBytes", "Mapped at end (bytes)"),
            Number("timerFlushes", "Timer flushes"), Number("fullQueueFlushes", "Full-queue flushes"),
            Number("witnessedFlushes", "Witnessed flushes"), Number("migratedFlushes", "Migrated flushes"),
            Number("depotPushes", "Depot pushes"), Number("depotTrims", "Depot trims"),
            Text("iotlb", "IOTLB"), Number("iotlbLookups", "IOTLB lookups"), Number("iotlbHits", "IOTLB hits"), Number("iotlbMisses", "IOTLB misses"),
            Text("iotlbHitRate", "IOTLB hit rate"), Number("pageWalks", "Page walks"), Number("walkLevelsRead", "Walk levels read"),
            Number("invalidations", "Invalidations"), Number("invalidatedPages", "Invalidated pages"),
            Number("pageTablePagesPeak", "Page-table pages (peak)"), Number("largePageMaps", "2 MiB maps"),
        ],
        (r?.Domains ?? []).Select(d =>
        {
            var h = d.Hardware;
            return Row(d.Domain, d.Mode, string.Join(" ", d.Devices), d.Allocations, d.RcacheHits, d.TreeAllocations, d.Failures,
                d.RcacheFlushes, d.PeakMappedBytes, d.PeakTreeBytes, d.LowestIova is { } low ? ReportText.Hex(low) : null, d.MappedAtEndBytes,
                d.TimerFlushes, d.FullQueueFlushes, d.WitnessedFlushes, d.MigratedFlushes, d.DepotPushes, d.DepotTrims,
                h is null ? null : FormattableString.Invariant($"{h.Iotlb} ({h.IotlbEntries} entries, {h.IotlbWays}-way)"),
                h?.Lookups, h?.Hits, h?.Misses, h is null ? null : HitRate(h), h?.PageWalks, h?.WalkLevelsRead,
                h?.Invalidations, h?.InvalidatedPages, h?.PageTablePagesPeak, h?.LargePageMaps);
        }).ToList());

    /// <summary>Hits over lookups as a percentage with two decimals, rounded down so a miss never shows as 100%.</summary>
    public static string HitRate(IommuHardwareReport h) => h.Lookups == 0 ? "n/a"
        : (decimal.Floor(h.Hits * 10_000m / h.Lookups) / 100m).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture) + "%";

    public static ReportTable SwiotlbAreas(SwiotlbReport? s) => new("swiotlb-areas",
        [
            Number("area", "Area"), Number("used", "Used"), Number("index", "Index"),
            Number("recordedUsed", "Recorded used"), Number("recordedIndex", "Recorded index"),
        ],
        (s?.Areas ?? []).Select(a => Row(a.Area, a.Used, a.Index, a.RecordedUsed, a.RecordedIndex)).ToList());

    public static ReportTable SwiotlbDevices(SwiotlbReport? s) => new("swiotlb-devices",
        [
            Text("device", "Device"), Number("bounces", "Bounces"), Number("failures", "Failures"),
            Number("bytesToDevice", "Bytes to device"), Number("bytesFromDevice", "Bytes from device"), Number("peakSlots", "Peak slots"),
        ],
        (s?.Devices ?? []).Select(d => Row(d.Device, d.Bounces, d.Failures, d.BytesToDevice, d.BytesFromDevice, d.PeakSlots)).ToList());

    /// <summary>
    /// One row per bucket of the slots-in-use series: its time (trace seconds), the peak and lowest
    /// slots in use, each area's peak, the map failures so far and the smallest largest-free-run.
    /// The other series are matched by bucket start time; where one has no bucket there (it ended
    /// earlier, or its buckets are wider) the cell is blank.
    /// </summary>
    public static ReportTable SwiotlbTimeline(SwiotlbReport? s)
    {
        var areas = s?.Areas ?? [];
        var columns = new List<Column> { Text("time_s", "Time (s)"), Number("slots_in_use_max", "Slots in use (max)"), Number("slots_in_use_min", "Slots in use (min)") };
        columns.AddRange(areas.Select(a => Number(FormattableString.Invariant($"area_{a.Area}_max"), FormattableString.Invariant($"Area {a.Area} (max)"))));
        columns.Add(Number("failures", "Map failures"));
        columns.Add(Number("largest_free_run", "Largest free run (min)"));

        var byTime = areas.Select(a => a.SlotsInUse).Append(s?.Failures ?? []).Append(s?.LargestFreeRun ?? [])
            .Select(points => points.ToDictionary(p => p.TimeNs)).ToList();
        Cell At(int series, long timeNs, Func<SeriesPoint, long> pick) =>
            byTime[series].TryGetValue(timeNs, out var p) ? pick(p) : Cell.Empty;
        var rows = (s?.SlotsInUse ?? []).Select(p =>
        {
            var row = new List<Cell> { ReportText.Seconds(p.TimeNs), p.Max, p.Min };
            for (int a = 0; a < areas.Count; a++) row.Add(At(a, p.TimeNs, q => q.Max));
            row.Add(At(areas.Count, p.TimeNs, q => q.Max));
            row.Add(At(areas.Count + 1, p.TimeNs, q => q.Min));
            return (IReadOnlyList<Cell>)row;
        }).ToList();
        return new ReportTable("swiotlb-timeline", columns, rows);
    }
}
