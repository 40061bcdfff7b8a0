namespace DmaReplay.Engine.Cost;

/// <summary>
/// Accumulates the cost of every call the replay feeds it: the call's operation, device, path
/// (translated by an IOMMU or not) and the counts the emulated stack produced. Per operation and
/// per (device, operation) a <see cref="LogHistogram"/> of CPU ns per call; the counts summed per
/// operation for the by-term split. Arrays only: recording allocates nothing once a device's
/// row exists.
/// </summary>
public sealed class CostMeter(CostModel model)
{
    private readonly LogHistogram[] _ops = NewRow();
    private readonly CostCounts[] _opCounts = new CostCounts[CostOps.Count];
    private readonly double[] _opFixedNs = new double[CostOps.Count];
    private readonly long[] _opDeviceNs = new long[CostOps.Count];
    private LogHistogram?[][] _devices = [];
    private long[][] _deviceNs = [];

    public CostModel Model => model;

    private static LogHistogram[] NewRow()
    {
        var row = new LogHistogram[CostOps.Count];
        for (int i = 0; i < row.Length; i++) row[i] = new LogHistogram();
        return row;
    }

    /// <summary>The per-call terms (fixed cost, scatterlist entries) of <paramref name="op"/> on its path.</summary>
    public double FixedNs(CostOp op, bool translated, long sgEntries) => op switch
    {
        CostOp.Map => translated ? model.IommuDmaMapNs : model.DmaDirectMapNs,
        CostOp.Unmap => translated ? model.IommuDmaUnmapNs : model.DmaDirectUnmapNs,
        // dma_direct_map_sg maps every entry with dma_direct_map_page; iommu_dma_map_sg is one call over the list.
        CostOp.MapSg => translated ? model.IommuDmaMapNs + sgEntries * model.SgEntryNs : sgEntries * model.DmaDirectMapNs,
        CostOp.UnmapSg => translated ? model.IommuDmaUnmapNs + sgEntries * model.SgEntryNs : sgEntries * model.DmaDirectUnmapNs,
        CostOp.SyncForCpu or CostOp.SyncForDevice => Math.Max(1, sgEntries) * model.SyncNs,
        CostOp.Alloc => model.AllocNs,
        CostOp.Free => model.FreeNs,
        _ => 0,
    };

    /// <summary>The CPU ns of the counted terms.</summary>
    public double CountedNs(in CostCounts c) =>
        c.IovaRcacheHits * model.IovaRcacheHitNs + c.IovaRcacheMisses * model.IovaRcacheMissNs
        + c.PtesMapped * model.PteMapNs + c.PtesUnmapped * model.PteUnmapNs
        + c.Invalidations * model.IotlbInvNs + c.InvalidatedPages * model.IotlbInvPageNs
        + c.SlotSearchSteps * model.SwiotlbSlotSearchStepNs + c.BounceBytes / model.SwiotlbCopyBytesPerNs
        + c.CacheLines * model.CacheLineNs;

    private static long Ns(double v) => (long)Math.Round(v, MidpointRounding.AwayFromZero);

    /// <summary>One call. <paramref name="device"/> is the trace's device id, or −1 for work no device called (the flush-queue timer).</summary>
    public void Record(CostOp op, int device, bool translated, in CostCounts counts)
    {
        int o = (int)op;
        double fixedNs = FixedNs(op, translated, counts.SgEntries);
        long cpu = Ns(fixedNs + CountedNs(counts));
        long dev = Ns(counts.WalkLevels * model.IotlbWalkLevelNs);
        _ops[o].Record(cpu);
        _opCounts[o].Add(counts);
        _opFixedNs[o] += fixedNs;
        _opDeviceNs[o] += dev;
        if (device < 0) return;
        if (device >= _devices.Length)
        {
            int n = Math.Max(device + 1, _devices.Length * 2);
            Array.Resize(ref _devices, n);
            Array.Resize(ref _deviceNs, n);
        }
        var row = _devices[device] ??= new LogHistogram?[CostOps.Count];
        (row[o] ??= new LogHistogram()).Record(cpu);
        (_deviceNs[device] ??= new long[CostOps.Count])[o] += dev;
    }

    /// <summary>The report; <paramref name="deviceName"/> names a device id.</summary>
    public CostReport Report(Func<int, string> deviceName)
    {
        var operations = new List<CostOpReport>();
        var total = new CostCounts();
        double fixedTotal = 0;
        for (int o = 0; o < CostOps.Count; o++)
        {
            if (_ops[o].Count == 0) continue;
            operations.Add(new CostOpReport(((CostOp)o).Key(), _ops[o].Summary(), _opDeviceNs[o], _opCounts[o]));
            total.Add(_opCounts[o]);
            fixedTotal += _opFixedNs[o];
        }
        var devices = new List<CostDeviceReport>();
        for (int d = 0; d < _devices.Length; d++)
        {
            if (_devices[d] is not { } row) continue;
            var ops = new List<CostOpReport>();
            for (int o = 0; o < CostOps.Count; o++)
            {
                if (row[o] is not { Count: > 0 } h) continue;
                ops.Add(new CostOpReport(((CostOp)o).Key(), h.Summary(), _deviceNs[d][o], default));
            }
            devices.Add(new CostDeviceReport(deviceName(d), ops.Sum(x => x.Cpu.Calls), ops.Sum(x => x.Cpu.TotalNs), ops.Sum(x => x.DeviceNs), ops));
        }
        devices.Sort((a, b) => string.CompareOrdinal(a.Device, b.Device));
        var m = model;
        var byTerm = new List<KeyValuePair<string, long>>
        {
            new("fixed", Ns(fixedTotal)),
            new("iova_rcache_hit", Ns(total.IovaRcacheHits * m.IovaRcacheHitNs)),
            new("iova_rcache_miss", Ns(total.IovaRcacheMisses * m.IovaRcacheMissNs)),
            new("pte_map", Ns(total.PtesMapped * m.PteMapNs)),
            new("pte_unmap", Ns(total.PtesUnmapped * m.PteUnmapNs)),
            new("iotlb_inv", Ns(total.Invalidations * m.IotlbInvNs)),
            new("iotlb_inv_page", Ns(total.InvalidatedPages * m.IotlbInvPageNs)),
            new("swiotlb_slot_search", Ns(total.SlotSearchSteps * m.SwiotlbSlotSearchStepNs)),
            new("swiotlb_copy", Ns(total.BounceBytes / m.SwiotlbCopyBytesPerNs)),
            new("cache_line", Ns(total.CacheLines * m.CacheLineNs)),
        };
        var terms = CostTerms.All.Select(t => new KeyValuePair<string, double>(t.Key, t.Get(m))).ToList();
        return new CostReport(m.Name, m.Sources, terms, operations.Sum(x => x.Cpu.Calls), operations.Sum(x => x.Cpu.TotalNs),
            operations.Sum(x => x.DeviceNs), byTerm, operations, devices);
    }
}
