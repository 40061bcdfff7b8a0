using System.Globalization;
using DmaReplay.Engine.Replay;
using DmaReplay.Engine.Summary;
using DmaReplay.Reports.Tables;
using static DmaReplay.Reports.Tables.Column;

namespace DmaReplay.Reports.Html;

/// <summary>
/// The sections a <c>replay</c> adds to report.html: the platform and the agreement with the
/// recorded addresses ("Replay"), then the emulated SWIOTLB pool ("SWIOTLB") with its charts.
/// </summary>
internal static class ReplaySection
{
    private const int ShownMismatches = 20;
    private const string TotalColor = "#3d444d", FailureColor = "#e15759", FreeRunColor = "#59a14f";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(Html html, RunSummary summary, ReplayReport replay)
    {
        html.Raw("<section id=\"replay\">\n").Element("h2", "Replay");
        WritePlatform(html, replay.Platform);
        WriteAgreement(html, replay.Agreement, replay.Pools);
        html.Raw("</section>\n<section id=\"swiotlb\">\n").Element("h2", "SWIOTLB");
        if (replay.Swiotlb is { } swiotlb) WriteSwiotlb(html, summary, swiotlb);
        else html.Element("p", "The replayed platform has no SWIOTLB pool, so nothing was bounced.", "muted");
        html.Raw("</section>\n");
        if (replay.Iommu is { } iommu) WriteIommu(html, iommu);
        if (replay.Coherency is { } coherency) CoherencySection.Write(html, coherency);
        if (replay.Cost is { } cost) CostSection.Write(html, cost);
        if (replay.Pools is { } pools) WritePools(html, summary, pools);
    }

    /// <summary>The "Allocations and pools" section: failures, each atomic pool's use and size over time, the tables.</summary>
    private static void WritePools(Html html, RunSummary summary, Engine.Pools.PoolsReport p)
    {
        html.Raw("<section id=\"pools\">\n").Element("h2", "Allocations and pools");
        html.Raw("<ul class=\"figures\">\n");
        Figure(html, "atomic_pool_size", Html.Size((long)p.AtomicPoolSize), "per pool at boot (coherent_pool= or 128 KiB per GiB of RAM)");
        Figure(html, "Allocation failures", Html.Number(p.AllocationFailures.Predicted) + " predicted",
            Html.Number(p.AllocationFailures.Recorded) + " recorded, " + Html.Number(p.AllocationFailures.Matched) + " both",
            p.AllocationFailures.Predicted > 0 ? "bad" : null);
        html.Raw("</ul>\n");
        long originNs = summary.Inputs.Select(i => i.FirstTimestampNs).FirstOrDefault(t => t is not null) ?? 0;
        long endNs = summary.Inputs.Select(i => i.LastTimestampNs ?? originNs).DefaultIfEmpty(originNs).Max();
        if (p.AtomicPools.Any(a => a.PeakUsedBytes > 0))
        {
            html.Element("h3", "Atomic pool pressure over time");
            html.Raw("<div class=\"cols charts\">\n");
            for (int i = 0; i < p.AtomicPools.Count; i++)
            {
                var a = p.AtomicPools[i];
                SmallChart(html, "atomic pool " + a.Zone + ": bytes in use", "Bytes", originNs, endNs,
                    new StepSeries(a.Zone + " in use", a.Used, (long)a.UsedAtEnd, StepChart.Color(i)),
                    "peak " + Html.Size((long)a.PeakUsedBytes) + ", size at end " + Html.Size((long)a.SizeAtEnd) + ", " + Html.Number(a.Failures) + " failures");
            }
            html.Raw("</div>\n");
        }
        html.Element("h3", "Where each allocation came from").Table(Tables.PoolTables.Sources(p), "No allocation.");
        html.Element("h3", "Atomic pools").Table(Tables.PoolTables.AtomicPools(p), "No atomic pool.");
        html.Element("h3", "dma_pools").Table(Tables.PoolTables.DmaPools(p), "No dma_pool.");
        html.Raw("</section>\n");
    }

    private static void WritePlatform(Html html, PlatformReport p)
    {
        html.Raw("<p class=\"platform\">Platform <code>").Text(p.Name).Raw("</code>: ")
            .Text(p.IsCaptureOwn ? "the capture's own platform" : "a what-if platform, not the capture's own")
            .Text(", " + Html.Number(p.Cpus) + (p.Cpus == 1 ? " CPU." : " CPUs.")).Raw("</p>\n");
        html.Element("h3", "Where the platform's facts come from");
        if (p.Provenance.Count == 0)
        {
            html.Element("p", "No provenance recorded.", "muted");
            return;
        }
        html.Raw("<ul class=\"provenance\">\n");
        foreach (var line in p.Provenance) html.Element("li", line);
        html.Raw("</ul>\n");
    }

    /// <summary>
    /// The agreement and failure tables; the allocators' rows (dma_pool, coherent memory, atomic
    /// pools, allocation failures) only where they compared something, as in agreement.csv.
    /// </summary>
    private static void WriteAgreement(Html html, AgreementReport a, Engine.Pools.PoolsReport? pools)
    {
        html.Element("h3", "Agreement with the recorded addresses");
        html.Raw("<div class=\"cols\">\n<div>\n").Table(new ReportTable("agreement",
            [Text("path", "Path"), Number("exact", "Exact"), Number("compared", "Compared"), Text("agreement", "Agreement")],
            [
                ["dma-direct", a.Direct.Exact, a.Direct.Compared, Percent(a.Direct)],
                ["SWIOTLB", a.Swiotlb.Exact, a.Swiotlb.Compared, Percent(a.Swiotlb)],
                ["IOMMU (IOVA)", a.Iommu.Exact, a.Iommu.Compared, Percent(a.Iommu)],
                .. a.IommuPageTable is { } pt
                    ? [(IReadOnlyList<Cell>)["IOMMU page table", pt.Exact, pt.Compared, Percent(new Tally(pt.Compared, pt.Exact))]]
                    : Array.Empty<IReadOnlyList<Cell>>(),
                .. AllocatorRows(pools),
            ]));
        html.Raw("</div>\n<div>\n").Table(new ReportTable("failure-tally",
            [Text("what", ""), Number("recorded", "Recorded"), Number("predicted", "Predicted"), Number("matched", "Matched")],
            [
                ["Map failures", a.Failures.Recorded, a.Failures.Predicted, a.Failures.Matched],
                .. pools is { AllocationFailuresCompared: true, AllocationFailures: var f }
                    ? [(IReadOnlyList<Cell>)["Allocation failures", f.Recorded, f.Predicted, f.Matched]]
                    : Array.Empty<IReadOnlyList<Cell>>(),
            ]));
        html.Raw("</div>\n</div>\n");

        html.Element("h3", "Mismatches");
        if (a.MismatchCount == 0)
        {
            html.Element("p", "None: every compared map returned the address the kernel returned.", "muted");
            return;
        }
        var shown = a.Mismatches.Take(ShownMismatches).ToList();
        html.Element("p", shown.Count < a.MismatchCount
            ? "The first " + Html.Number(shown.Count) + " of " + Html.Number(a.MismatchCount) + " mismatches."
            : Html.Number(a.MismatchCount) + (a.MismatchCount == 1 ? " mismatch." : " mismatches."), "muted");
        html.Table(ReplayTables.Mismatches(shown));
    }

    private static IEnumerable<IReadOnlyList<Cell>> AllocatorRows(Engine.Pools.PoolsReport? p)
    {
        if (p?.DmaPoolAgreement is { } dp) yield return ["dma_pool blocks", dp.Exact, dp.Compared, Percent(dp)];
        if (p?.DevCoherentAgreement is { } dc) yield return ["Device/global coherent memory", dc.Exact, dc.Compared, Percent(dc)];
        if (p?.AtomicPoolAgreement is { } ap) yield return ["Atomic pools", ap.Exact, ap.Compared, Percent(ap)];
    }

    /// <summary>Exact over compared, rounded down so a single mismatch never shows as 100%.</summary>
    private static string Percent(Tally t) =>
        t.Compared == 0 ? "n/a" : (decimal.Floor(t.Exact * 10_000m / t.Compared) / 100m).ToString("0.00", Inv) + "%";

    private static void WriteSwiotlb(Html html, RunSummary summary, SwiotlbReport s)
    {
        html.Raw("<ul class=\"figures\">\n");
        Figure(html, "Pool", Html.Number(s.Nslabs) + " slots",
            Html.Number(s.Nareas) + (s.Nareas == 1 ? " area" : " areas") + ", " + (s.Force ? "swiotlb=force" : "bounce when needed")
            + ", at " + ReportText.Hex(s.PoolStart));
        Compared(html, "Used at end", s.UsedAtEnd, s.RecordedUsedAtEnd);
        Compared(html, "High-water", s.UsedHiwater, s.RecordedHiwater);
        Figure(html, "Map failures", Html.Number(s.MapFailures), "maps the pool could not place", s.MapFailures > 0 ? "bad" : null);
        Figure(html, "Copied to device", Html.Size(s.Bytes.ToDevice), Html.Number(s.Bytes.ToDevice) + " bytes");
        Figure(html, "Copied from device", Html.Size(s.Bytes.FromDevice), Html.Number(s.Bytes.FromDevice) + " bytes");
        Figure(html, "Bounce copies", Html.Number(s.BounceCopies), "memcpy to or from the pool");
        Figure(html, "Search steps, mean", s.Searches == 0 ? "n/a" : ((decimal)s.SearchSteps / s.Searches).ToString("0.00", Inv),
            "max " + Html.Number(s.MaxSearchSteps) + " in " + Html.Number(s.Searches) + " searches");
        html.Raw("</ul>\n");

        long originNs = summary.Inputs.Select(i => i.FirstTimestampNs).FirstOrDefault(t => t is not null)
            ?? (s.SlotsInUse.Count > 0 ? s.SlotsInUse[0].TimeNs : 0);
        long endNs = summary.Inputs.Select(i => i.LastTimestampNs ?? originNs).DefaultIfEmpty(originNs).Max();

        html.Element("h3", "Slots in use over time");
        if (s.SlotsInUse.Count == 0)
        {
            html.Element("p", "No buffer was bounced, so there is nothing to chart.", "muted");
        }
        else
        {
            var areas = s.Areas.Select((a, i) => new StepSeries("area " + a.Area.ToString(Inv), a.SlotsInUse, a.Used, StepChart.Color(i), StepChart.Dash(i))).ToList();
            var total = new StepSeries("total", s.SlotsInUse, s.UsedAtEnd, TotalColor, "6 4");
            var capacity = new ReferenceLine(s.Nslabs, "nslabs " + Html.Number(s.Nslabs));
            html.Raw("<figure class=\"chart\">\n");
            StepChart.Write(html, new StepChartSpec("SWIOTLB slots in use over time, per area and in total", "Slots in use",
                originNs, endNs, [total, .. areas], [capacity], YTicks: 6));
            StepChart.Legend(html, [(total, "at end " + Html.Number(s.UsedAtEnd) + ", high-water " + Html.Number(s.UsedHiwater)),
                .. areas.Select((series, i) => (series, "at end " + Html.Number(s.Areas[i].Used)))],
                [(capacity, "the pool's size")]);
            html.Raw("</figcaption>\n</figure>\n");

            html.Raw("<div class=\"cols charts\">\n");
            SmallChart(html, "Map failures so far", "Map failures", originNs, endNs,
                new StepSeries("map failures", s.Failures, s.MapFailures, FailureColor), "at end " + Html.Number(s.MapFailures));
            SmallChart(html, "Largest free run of slots (lowest in each interval)", "Slots", originNs, endNs,
                new StepSeries("largest free run", s.LargestFreeRun, null, FreeRunColor, Lowest: true), "sampled while the pool is in use");
            html.Raw("</div>\n");
        }

        html.Raw("<div class=\"cols\">\n<div>\n").Element("h3", "Bytes copied by operation").Table(new ReportTable("bounce-bytes",
            [Text("operation", "Operation"), Text("direction", "Direction"), Number("bytes", "Bytes")],
            [
                ["map", "to device", s.Bytes.Map],
                ["sync for device", "to device", s.Bytes.SyncForDevice],
                ["unmap", "from device", s.Bytes.Unmap],
                ["sync for CPU", "from device", s.Bytes.SyncForCpu],
            ]));
        html.Raw("</div>\n<div>\n").Element("h3", "Areas at the end, emulated and recorded")
            .Table(ReplayTables.SwiotlbAreas(s), "No areas.")
            .Raw("</div>\n</div>\n");
        html.Element("h3", "Devices using the pool").Table(ReplayTables.SwiotlbDevices(s), "No device used the pool.");
    }

    /// <summary>The "IOMMU" section: one figure line, then the per-domain table (trace strings escaped by the table writer).</summary>
    private static void WriteIommu(Html html, IommuReport r)
    {
        html.Raw("<section id=\"iommu\">\n").Element("h2", "IOMMU");
        html.Raw("<ul class=\"figures\">\n");
        Figure(html, "Granule", Html.Size((long)r.Granule), Html.Number((long)r.Granule) + " bytes");
        Figure(html, "Domains", Html.Number(r.Domains.Count), Html.Number(r.Domains.Count(d => d.Mode == "lazy")) + " lazy (DMA-FQ)");
        Figure(html, "32-bit fallbacks", Html.Number(r.DacFallbacks), "devices that left the 32-bit IOVA space");
        Figure(html, "Untrusted bounces", Html.Number(r.Bounces), "maps bounced through SWIOTLB");
        html.Raw("</ul>\n");
        html.Element("h3", "Domains").Table(ReplayTables.IommuDomains(r), "No domain.");
        html.Raw("</section>\n");
    }

    private static void SmallChart(Html html, string heading, string yLabel, long originNs, long endNs, StepSeries series, string note)
    {
        html.Raw("<figure class=\"chart small\">\n").Element("h4", heading);
        if (series.Points.Count == 0)
        {
            html.Element("p", "No data.", "muted").Raw("</figure>\n");
            return;
        }
        StepChart.Write(html, new StepChartSpec(heading, yLabel, originNs, endNs, [series], Width: 480, Height: 240, YTicks: 4));
        StepChart.Legend(html, [(series, note)]);
        html.Raw("</figcaption>\n</figure>\n");
    }

    private static void Figure(Html html, string label, string value, string note, string? noteClass = null) =>
        html.Raw("<li><span class=\"label\">").Text(label).Raw("</span><span class=\"value\">").Text(value)
            .Raw(noteClass is null ? "</span><span class=\"note\">" : "</span><span class=\"note " + noteClass + "\">")
            .Text(note).Raw("</span></li>\n");

    /// <summary>An emulated figure next to the kernel's own, marked when they differ.</summary>
    private static void Compared(Html html, string label, long emulated, long? recorded)
    {
        if (recorded is not { } kernel) Figure(html, label, Html.Number(emulated), "the capture did not record it");
        else if (kernel == emulated) Figure(html, label, Html.Number(emulated), "kernel: " + Html.Number(kernel) + ", the same", "ok");
        else Figure(html, label, Html.Number(emulated), "kernel: " + Html.Number(kernel) + ", differs", "bad");
    }
}
