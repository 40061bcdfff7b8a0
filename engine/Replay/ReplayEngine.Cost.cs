using DmaReplay.Engine.Cost;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// The cost estimate: each DMA API call is dispatched between two snapshots of the emulated
/// stack's cumulative counters (SWIOTLB slot-search steps and bytes copied, each domain's IOVA
/// range-cache hits and tree allocations, IO page-table leaves written and cleared, IOTLB
/// invalidations, misses and walk levels, cache lines the coherency model maintained), and the difference is what the call cost. Snapshots
/// read fields only: nothing is allocated per event, and a replay without a cost model never
/// comes here.
/// </summary>
/// <remarks>
/// Attribution follows the kernel: the slots a swiotlb_bounced event takes (dma-direct bounces
/// before the map event) are carried to the next map on that CPU; a flush-queue timer that runs
/// while a call is replayed (the domain's timers run first, at the call's time) is the timer's
/// work, not the call's, and is recorded as <c>fq_timer</c> — a lazy call's own invalidations
/// are only full-queue flushes, so when a timer flush and no full-queue flush happened during
/// the call, its invalidations are the timer's.
/// </remarks>
public sealed partial class ReplayEngine
{
    private readonly CostMeter? _cost;
    private CostCounts[] _carry = new CostCounts[8];

    private static CostOp? OpOf(DmaEventKind k) => k switch
    {
        DmaEventKind.DmaMapPage or DmaEventKind.DmaMapPhys or DmaEventKind.DmaMapResource => CostOp.Map,
        DmaEventKind.DmaUnmapPage or DmaEventKind.DmaUnmapPhys or DmaEventKind.DmaUnmapResource => CostOp.Unmap,
        DmaEventKind.DmaMapSg => CostOp.MapSg,
        DmaEventKind.DmaUnmapSg => CostOp.UnmapSg,
        DmaEventKind.DmaSyncSingleForCpu or DmaEventKind.DmaSyncSgForCpu => CostOp.SyncForCpu,
        DmaEventKind.DmaSyncSingleForDevice or DmaEventKind.DmaSyncSgForDevice => CostOp.SyncForDevice,
        DmaEventKind.DmaAlloc => CostOp.Alloc,
        DmaEventKind.DmaFree => CostOp.Free,
        _ => null,
    };

    /// <summary>The stack's cumulative counters now, and the flush-queue flushes by cause.</summary>
    private CostCounts Sample(out long timerFlushes, out long fullFlushes)
    {
        var c = new CostCounts();
        timerFlushes = fullFlushes = 0;
        if (_swiotlb is not null)
        {
            c.SlotSearchSteps = _swiotlb.SearchSteps;
            c.BounceBytes = _swiotlb.BytesToDevice + _swiotlb.BytesFromDevice;
        }
        foreach (var (domain, hw) in _hardwareDomains)
        {
            c.IovaRcacheHits += domain.Iovad.RcacheHits;
            c.IovaRcacheMisses += domain.Iovad.TreeAllocations;
            c.PtesMapped += hw.PageTable.LeavesMapped;
            c.PtesUnmapped += hw.PageTable.LeavesCleared;
            c.Invalidations += hw.Invalidations;
            c.InvalidatedPages += hw.InvalidatedPages;
            c.IotlbMisses += hw.PageWalks;
            c.WalkLevels += hw.WalkLevelsRead;
            if (domain.Fq is { } fq)
            {
                timerFlushes += fq.TimerFlushes;
                fullFlushes += fq.FullFlushes;
            }
        }
        if (_coh is { } coh) c.CacheLines = coh.LinesMaintained; // arch_sync_dma_for_device/_for_cpu, arch_dma_prep_coherent
        return c;
    }

    private void DispatchCosted(DmaEvent e)
    {
        var op = OpOf(e.Kind);
        if (op is null && e.Kind != DmaEventKind.SwiotlbBounced)
        {
            Dispatch(e);
            return;
        }
        var before = Sample(out long timer0, out long full0);
        Dispatch(e);
        var after = Sample(out long timer1, out long full1);
        var c = CostCounts.Delta(before, after);
        if (timer1 > timer0 && full1 == full0 && c.Invalidations > 0)
        {
            _cost!.Record(CostOp.FqTimer, -1, translated: true, new CostCounts { Invalidations = c.Invalidations, InvalidatedPages = c.InvalidatedPages });
            c.Invalidations = c.InvalidatedPages = 0;
        }
        int cpu = Math.Max(0, e.Cpu);
        if (cpu >= _carry.Length) Array.Resize(ref _carry, Math.Max(cpu + 1, _carry.Length * 2));
        if (op is not { } kind)
        {
            _carry[cpu].Add(c); // swiotlb_bounced: the slots the next map on this CPU claims
            return;
        }
        if (kind is CostOp.Map or CostOp.MapSg)
        {
            c.Add(_carry[cpu]);
            _carry[cpu] = default;
        }
        if (kind is CostOp.MapSg or CostOp.UnmapSg || e.Kind is DmaEventKind.DmaSyncSgForCpu or DmaEventKind.DmaSyncSgForDevice)
            c.SgEntries = Math.Max(e.Nents, e.PhysAddrs.Length);
        _cost!.Record(kind, e.Device, Translated(Model(e.Device)), c);
    }

    /// <summary>The timers still due at the end of the trace (run by the IOMMU summary anyway): the flush-queue timer's work.</summary>
    private void CostAtEnd()
    {
        var before = Sample(out _, out _);
        _iommu.Advance(_lastNs);
        var c = CostCounts.Delta(before, Sample(out _, out _));
        if (c.Invalidations > 0) _cost!.Record(CostOp.FqTimer, -1, translated: true, c);
    }

    private CostReport? CostSummary() => _cost?.Report(id => _strings.Device(id));
}
