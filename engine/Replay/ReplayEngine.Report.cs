namespace DmaReplay.Engine.Replay;

public sealed partial class ReplayEngine
{
    /// <summary>End of the input: bounces no map claimed are failed sg maps; then the report.</summary>
    public ReplayReport Finish()
    {
        _order.Flush();
        foreach (var list in _pending.Values.ToList())
        {
            if (list.Count > 0) FailOrphans(_tail, list.ToList());
        }
        _pending.Clear();
        var agreement = new AgreementReport(
            new Tally(_directCompared, _directExact), new Tally(_swiotlbCompared, _swiotlbExact), new Tally(_iommuCompared, _iommuExact),
            new FailureTally(_failRecorded, _failPredicted, _failMatched, _notReplayed), _mismatchCount, _mismatches.ToList());
        var pageTable = PageTableSummary();
        agreement = agreement with { IommuPageTable = pageTable, MismatchCount = _mismatchCount, Mismatches = _mismatches.ToList() };
        var platform = new PlatformReport(_platform.Name, IsCaptureOwn, _platform.Cpus, _platform.Provenance);
        if (_cost is not null) CostAtEnd();
        return new ReplayReport(platform, agreement, SwiotlbSummary())
        {
            Iommu = IommuSummary(), Coherency = CoherencySummary(), Pools = PoolsSummary(), Cost = CostSummary(),
        };
    }

    private SwiotlbReport? SwiotlbSummary()
    {
        if (_swiotlb is null) return null;
        var cfg = _platform.Swiotlb;
        var areas = new List<SwiotlbAreaReport>();
        for (int a = 0; a < _swiotlb.Nareas; a++)
        {
            var recorded = _capture?.Areas is { } ra && a < ra.Count ? ra[a] : ((int, int)?)null;
            areas.Add(new SwiotlbAreaReport(a, _swiotlb.AreaUsed(a), _swiotlb.AreaIndex(a), recorded?.Item1, recorded?.Item2,
                _areaSeries![a].Points()));
        }
        var devices = _deviceStats.OrderBy(kv => kv.Key)
            .Select(kv => new SwiotlbDeviceReport(_strings.Device(kv.Key), kv.Value.Bounces, kv.Value.Failures, kv.Value.BytesTo, kv.Value.BytesFrom, kv.Value.PeakSlots))
            .ToList();
        string source = _platform.Provenance.FirstOrDefault(p => p.StartsWith("swiotlb.start", StringComparison.Ordinal)) ?? "";
        return new SwiotlbReport(
            cfg.Start!.Value, source, _swiotlb.Nslabs, _swiotlb.Nareas, cfg.Force,
            _swiotlb.Used, _capture?.UsedAtEnd, _swiotlb.UsedHiwater, _capture?.UsedHiwater, _swiotlb.MapFailures,
            _swiotlb.BounceCopies, new BounceBytes(_bytesMap, _bytesUnmap, _bytesSyncDev, _bytesSyncCpu),
            _swiotlb.SearchSteps, _maxSteps, _searches, areas,
            _usedSeries?.Points() ?? [], _failureSeries?.Points() ?? [], _freeRunSeries?.Points() ?? [], devices);
    }
}
