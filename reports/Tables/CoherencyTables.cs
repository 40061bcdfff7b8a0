using DmaReplay.Engine.Coherency;
using static DmaReplay.Reports.Tables.Column;
using static DmaReplay.Reports.Tables.ReportTables;

namespace DmaReplay.Reports.Tables;

/// <summary>
/// The tables of a replay's <see cref="CoherencyReport"/>: cache maintenance per non-coherent
/// device and operation (keys as summary.json's "coherency"), and the sizes of the buffers
/// dma_kmalloc_needs_bounce sent through SWIOTLB.
/// </summary>
public static class CoherencyTables
{
    public static ReportTable Maintenance(CoherencyReport r) => new("coherency",
        [
            Text("device", "Device"), Text("operation", "Operation"), Number("calls", "Calls"), Number("noMaintenance", "No maintenance"),
            Number("skippedByAttr", "Skipped (SKIP_CPU_SYNC)"), Number("clean", "Clean ops"), Number("invalidate", "Invalidate ops"),
            Number("cleanInvalidate", "Clean+invalidate ops"), Number("linesCleaned", "Lines cleaned (dc cvac)"),
            Number("linesInvalidated", "Lines invalidated (dc ivac)"), Number("linesCleanInvalidated", "Lines clean+invalidated (dc civac)"),
            Number("lines", "Lines"), Number("bytes", "Bytes"),
        ],
        r.Devices.SelectMany(d => d.Operations.Select(o => Row(d.Device, o.Operation.Key(), o.Calls, o.NoMaintenance, o.SkippedByAttr,
            o.CleanOps, o.InvalidateOps, o.CleanInvalidateOps, o.LinesCleaned, o.LinesInvalidated, o.LinesCleanInvalidated, o.Lines, o.Bytes))).ToList());

    public static ReportTable KmallocBounces(CoherencyReport r) => new("coherency-kmalloc-bounces",
        [Text("device", "Device"), Number("size", "Buffer size"), Number("bounces", "Bounces")],
        r.Devices.SelectMany(d => d.KmallocBounceSizes.Select(s => Row(d.Device, s.Size, s.Count))).ToList());
}
