using DmaReplay.Engine.Pools;
using static DmaReplay.Reports.Tables.Column;

namespace DmaReplay.Reports.Tables;

/// <summary>The allocation tables of a replay: sources per device, the atomic pools, the dma_pools (CSV and HTML).</summary>
public static class PoolTables
{
    public static ReportTable Sources(PoolsReport p) => new("allocation-sources",
        [Text("device", "Device"), Text("source", "Source"), Number("allocations", "Allocations"), Number("predictedFailures", "Predicted failures"), Number("bytes", "Bytes")],
        p.Sources.Select(s => ReportTables.Row(s.Device, s.Source, s.Allocations, s.PredictedFailures, (long)s.Bytes)).ToList());

    public static ReportTable AtomicPools(PoolsReport p) => new("atomic-pools",
        [
            Text("zone", "Zone"), Text("gfp", "GFP"), Number("initialBytes", "Initial bytes"), Number("sizeAtEnd", "Size at end"),
            Number("expansions", "Expansions"), Number("peakUsedBytes", "Peak used"), Number("usedAtEnd", "Used at end"), Number("failures", "Failures"),
        ],
        p.AtomicPools.Select(a => ReportTables.Row(a.Zone, a.Gfp, (long)a.InitialBytes, (long)a.SizeAtEnd, a.Expansions, (long)a.PeakUsedBytes, (long)a.UsedAtEnd, a.Failures)).ToList());

    public static ReportTable DmaPools(PoolsReport p) => new("dma-pools",
        [
            Text("device", "Device"), Text("pool", "Pool"), Number("blockSize", "Block size"), Number("allocation", "Allocation"),
            Number("boundary", "Boundary"), Number("pages", "Pages"), Number("blocks", "Blocks"), Number("peakActive", "Peak in use"),
            Number("activeAtEnd", "In use at end"), Text("destroyed", "Destroyed"),
        ],
        p.DmaPools.Select(d => ReportTables.Row(d.Device, d.Name, (long)d.BlockSize, (long)d.Allocation, (long)d.Boundary, d.Pages, d.Blocks,
            d.PeakActive, d.ActiveAtEnd, d.Destroyed ? "yes" : "no")).ToList());
}
