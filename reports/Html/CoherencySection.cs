using DmaReplay.Engine.Coherency;
using DmaReplay.Reports.Tables;
using static DmaReplay.Reports.Tables.Column;

namespace DmaReplay.Reports.Html;

/// <summary>
/// report.html's "Cache coherency" section of a replay with non-coherent devices: the maintenance
/// each device's calls cost in cache lines, and the buffers bounced for their kmalloc size.
/// Every trace-derived string goes through <see cref="Html.Text"/> (escaped).
/// </summary>
internal static class CoherencySection
{
    public static void Write(Html html, CoherencyReport r)
    {
        html.Raw("<section id=\"coherency\">\n").Element("h2", "Cache coherency");
        html.Element("p",
            $"Non-coherent devices: arm64 cache maintenance by {Html.Number(r.LineBytes)}-byte line (arch_sync_dma_for_device cleans, " +
            $"arch_sync_dma_for_cpu invalidates unless DMA_TO_DEVICE). {Html.Number(r.TotalLines)} lines touched in all, " +
            $"{Html.Number(r.KmallocBounces)} buffers bounced for an unaligned kmalloc size " +
            $"(dma_get_cache_alignment() {Html.Number(r.DmaCacheAlignment)}, ARCH_DMA_MINALIGN {Html.Number(r.ArchDmaMinalign)}" +
            (r.BounceUnalignedKmalloc ? ")." : "; DMA_BOUNCE_UNALIGNED_KMALLOC off)."));
        html.Element("h3", "Maintenance per device and operation");
        html.Table(new ReportTable("coherency",
            [
                Text("device", "Device"), Text("operation", "Operation"), Number("calls", "Calls"),
                Number("clean", "Clean ops"), Number("invalidate", "Invalidate ops"),
                Number("cvac", "dc cvac"), Number("ivac", "dc ivac"), Number("civac", "dc civac"),
                Number("lines", "Lines"), Number("bytes", "Bytes"), Number("skipped", "Skipped (SKIP_CPU_SYNC)"),
            ],
            r.Devices.SelectMany(d => d.Operations.Where(o => o.Calls + o.SkippedByAttr > 0).Select(o => (IReadOnlyList<Cell>)
            [
                d.Device, o.Operation.Key(), o.Calls, o.CleanOps, o.InvalidateOps,
                o.LinesCleaned, o.LinesInvalidated, o.LinesCleanInvalidated, o.Lines, o.Bytes, o.SkippedByAttr,
            ])).ToList()), "No maintenance.");
        html.Element("h3", "Buffers bounced for their kmalloc size");
        html.Table(CoherencyTables.KmallocBounces(r), "None: no buffer's kmalloc size was unaligned on a non-coherent device.");
        if (r.KmallocExamples.Count > 0)
        {
            html.Table(new ReportTable("kmalloc-examples",
                [Text("where", "Where"), Text("device", "Device"), Text("phys", "Physical address"), Number("size", "Size"), Text("dir", "Direction")],
                r.KmallocExamples.Select(x => (IReadOnlyList<Cell>)[x.Input + ":" + x.Line.ToString(System.Globalization.CultureInfo.InvariantCulture), x.Device, ReportText.Hex(x.Phys), x.Size, x.Direction]).ToList()));
        }
        html.Raw("</section>\n");
    }
}
