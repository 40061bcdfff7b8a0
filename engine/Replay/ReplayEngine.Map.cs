using DmaReplay.Engine.Direct;
using DmaReplay.Engine.Swiotlb;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

public sealed partial class ReplayEngine
{
    private static (int, int, bool) Key(DmaEvent e) => (e.Cpu, e.Pid, e.Flags.InInterrupt());

    /// <summary>swiotlb_bounced: the kernel is about to search slots for this buffer on this CPU.</summary>
    private void Bounced(DmaEvent e)
    {
        var m = Model(e.Device);
        if (Translated(m)) return; // dma-iommu bounces inside its map call (the IOVA model takes the slots there)
        ulong phys = DmaDirect.DmaToPhys(m, _platform, e.DmaAddr); // dev_addr = phys_to_dma(original buffer)
        var p = new PendingBounce { Device = e.Device, Orig = phys, Size = e.Size, Line = e.Position.Line };
        if (_swiotlb is not null && DmaDirect.Decide(m, _platform, phys, e.Size, DmaDirection.Bidirectional) == DirectDecision.Bounce)
            p.Result = Bounce(e, phys, e.Size);
        if (!_pending.TryGetValue(Key(e), out var list)) _pending[Key(e)] = list = [];
        list.Add(p);
    }

    /// <summary>swiotlb_map from dma-direct: slots, then dma_capable of the bounce address (else unmap and fail).</summary>
    private BounceResult Bounce(DmaEvent e, ulong phys, ulong size)
    {
        var m = Model(e.Device);
        var r = _swiotlb!.Map(_bounceDevs[e.Device], phys, size, 0, e.Cpu, _toDma[e.Device]);
        _searches++;
        _maxSteps = Math.Max(_maxSteps, r.SearchSteps);
        var stats = Stats(e.Device);
        if (!r.Ok)
        {
            stats.Failures++;
            _failureSeries!.Record(e.TimestampNs, _swiotlb.MapFailures);
            return r;
        }
        _bytesMap += (long)size;
        stats.Bounces++;
        stats.BytesTo += (long)size;
        stats.Slots += r.Slots;
        stats.PeakSlots = Math.Max(stats.PeakSlots, stats.Slots);
        ulong dma = DmaDirect.PhysToDmaUnencrypted(m, r.TlbAddr);
        if (!DmaDirect.Capable(m, dma, size))
        {
            ReleaseBounce(e, r.TlbAddr, size, DmaDirection.ToDevice, DmaAttrs.SkipCpuSync);
            return new BounceResult(false, DmaAddress.MappingError, 0, -1, r.SearchSteps);
        }
        RecordPool(e.TimestampNs, r.Area);
        return r;
    }

    private void RecordPool(long ns, int area)
    {
        if (area >= 0 && area < _areaSeries!.Length) _areaSeries[area].Record(ns, _swiotlb!.AreaUsed(area));
        _usedSeries!.Record(ns, _swiotlb!.Used);
        if (--_freeRunCountdown == 0) // the 1st, (every+1)th, … pool operation
        {
            _freeRunCountdown = _freeRunSampleEvery;
            _freeRunSeries!.Record(ns, _swiotlb.LargestFreeRun());
        }
    }

    private void ReleaseBounce(DmaEvent e, ulong tlbAddr, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
        long before = _swiotlb!.BytesFromDevice;
        if (!_swiotlb.Unmap(_bounceDevs[e.Device], tlbAddr, size, dir, attrs)) return;
        long copied = _swiotlb.BytesFromDevice - before;
        _bytesUnmap += copied;
        var stats = Stats(e.Device);
        stats.BytesFrom += copied;
        int nslots = (int)((size + (tlbAddr & _slotMask) + _slotMask) >> _slotShift);
        stats.Slots = Math.Max(0, stats.Slots - nslots);
        RecordPool(e.TimestampNs, _swiotlb.DefaultPoolArea(tlbAddr));
    }

    /// <summary>
    /// The bounces this map claims (its entries, in order) out of the CPU's pending ones. Pending
    /// bounces before the first claimed one belong to no map event: a dma_map_sg that failed.
    /// </summary>
    private PendingBounce? Claim(DmaEvent e, ulong phys, ulong size, ref int cursor)
    {
        if (!PendingAny || !_pending.TryGetValue(Key(e), out var list) || list.Count == 0) return null;
        for (int j = cursor; j < list.Count; j++)
        {
            var p = list[j];
            if (p.Device != e.Device || p.Orig != phys || p.Size != size) continue;
            if (cursor == 0 && j > 0)
            {
                FailOrphans(e, list.GetRange(0, j));
                list.RemoveRange(0, j);
                j = 0;
            }
            cursor = j + 1;
            return p;
        }
        return null;
    }

    /// <summary>Drops the claimed bounces (the first <paramref name="claimed"/> pending entries of the CPU).</summary>
    private void Consume(DmaEvent e, int claimed)
    {
        if (claimed == 0 || !PendingAny || !_pending.TryGetValue(Key(e), out var list)) return;
        list.RemoveRange(0, Math.Min(claimed, list.Count));
        if (list.Count == 0) _pending.Remove(Key(e));
    }

    /// <summary>Pending bounces of this CPU context that no map event claims are a failed dma_map_sg.</summary>
    private void FlushOrphans(DmaEvent e)
    {
        if (!PendingAny || !_pending.TryGetValue(Key(e), out var list) || list.Count == 0) return;
        FailOrphans(e, list.ToList());
        _pending.Remove(Key(e));
    }

    /// <summary>
    /// A dma_map_sg the kernel failed: its entries bounced until one found no slots, then
    /// dma_direct_map_sg unmapped the mapped prefix (SKIP_CPU_SYNC). The emulated pool releases
    /// what it mapped for them; an emulated failure among them matches the kernel's.
    /// </summary>
    private void FailOrphans(DmaEvent at, List<PendingBounce> orphans)
    {
        _failRecorded++;
        bool predicted = false;
        foreach (var p in orphans)
        {
            if (p.Result is not { } r) continue;
            if (!r.Ok)
            {
                predicted = true;
                continue;
            }
            ReleaseBounce(at, r.TlbAddr, p.Size, DmaDirection.ToDevice, DmaAttrs.SkipCpuSync);
        }
        if (predicted)
        {
            _failPredicted++;
            _failMatched++;
        }
        else
        {
            var last = orphans[^1];
            Mismatched(last.Line, "kernel failed dma_map_sg, emulation mapped", last.Device,
                last.Orig, last.Size, DmaAddress.MappingError, last.Result is { Ok: true } r ? r.TlbAddr : 0);
        }
    }

    // dma_direct_map_page (kernel/dma/direct.h)
    private void MapSingle(DmaEvent e)
    {
        var m = Model(e.Device);
        if (Translated(m))
        {
            MapSingleIommu(e, m);
            return;
        }
        int cursor = 0;
        var p = Claim(e, e.PhysAddr, e.Size, ref cursor);
        Consume(e, cursor);
        FlushOrphans(e);
        var (emulated, bounced) = MapBuffer(e, p, e.PhysAddr, e.Size);
        (_witnessSingle, _witnessValid) = (bounced, true);
        Compare(e, p is not null, e.DmaAddr, emulated, bounced, e.PhysAddr, e.Size, DmaDirect.PhysToDma(m, _platform, e.PhysAddr));
        if (e.IsMappingError)
        {
            // The driver saw a failure and will never unmap: what the emulation mapped goes back.
            if (bounced) ReleaseBounce(e, DmaDirect.DmaToPhys(m, _platform, emulated), e.Size, e.Direction, DmaAttrs.SkipCpuSync);
        }
        else if (emulated != DmaAddress.MappingError)
        {
            AddLive(_live, e.Device, e.DmaAddr, emulated, e.Size, bounced);
        }
        else
        {
            FailedHere(e.Device, e.DmaAddr);
        }
        _out.DmaAddr = emulated;
    }

    /// <summary>Maps one buffer on the emulated platform, using the bounce already taken at swiotlb_bounced time when there is one.</summary>
    private (ulong Emulated, bool Bounced) MapBuffer(DmaEvent e, PendingBounce? p, ulong phys, ulong size)
    {
        var m = Model(e.Device);
        switch (DmaDirect.Decide(m, _platform, phys, size, e.Direction))
        {
            case DirectDecision.Bounce:
                var r = p?.Result ?? Bounce(e, phys, size);
                if (!r.Ok) return (DmaAddress.MappingError, false);
                ulong bounced = DmaDirect.PhysToDmaUnencrypted(m, r.TlbAddr);
                CoherencyMapped(e, m, bounced, true, phys, size);
                return (bounced, true);
            case DirectDecision.Direct:
                if (p?.Result is { Ok: true } taken) ReleaseBounce(e, taken.TlbAddr, size, DmaDirection.ToDevice, DmaAttrs.SkipCpuSync);
                ulong direct = DmaDirect.PhysToDma(m, _platform, phys);
                CoherencyMapped(e, m, direct, false, phys, size);
                return (direct, false);
            default:
                if (p?.Result is { Ok: true } t) ReleaseBounce(e, t.TlbAddr, size, DmaDirection.ToDevice, DmaAttrs.SkipCpuSync);
                return (DmaAddress.MappingError, false);
        }
    }

    /// <summary>Agreement of one mapped buffer with what the kernel returned.</summary>
    private void Compare(DmaEvent e, bool witnessed, ulong recorded, ulong emulated, bool bounced, ulong phys, ulong size, ulong directDma)
    {
        if (recorded == DmaAddress.MappingError || emulated == DmaAddress.MappingError)
        {
            CompareFailure(e, recorded, emulated, phys, size);
            return;
        }
        bool kernelBounced = witnessed || recorded != directDma;
        if (kernelBounced && bounced)
        {
            _swiotlbCompared++;
            if (recorded == emulated) _swiotlbExact++;
            else Mismatched(e, "swiotlb slot", phys, size, recorded, emulated);
        }
        else if (!kernelBounced && !bounced)
        {
            _directCompared++;
            if (recorded == emulated) _directExact++;
            else Mismatched(e, "direct address", phys, size, recorded, emulated);
        }
        else
        {
            Mismatched(e, kernelBounced ? "kernel bounced, emulation mapped directly" : "emulation bounced, kernel mapped directly", phys, size, recorded, emulated);
        }
    }

    /// <summary>A failure on either side: matched, or a mismatch naming which side failed.</summary>
    private void CompareFailure(DmaEvent e, ulong recorded, ulong emulated, ulong phys, ulong size)
    {
        bool recordedFailed = recorded == DmaAddress.MappingError;
        bool emulatedFailed = emulated == DmaAddress.MappingError;
        if (recordedFailed) _failRecorded++;
        if (emulatedFailed) _failPredicted++;
        if (recordedFailed && emulatedFailed) _failMatched++;
        else Mismatched(e, recordedFailed ? "kernel failed, emulation mapped" : "emulation failed, kernel mapped", phys, size, recorded, emulated);
    }

    /// <summary>The kernel mapped, the emulated platform failed: the driver's later release and syncs of this handle are not replayed.</summary>
    private void FailedHere(int device, ulong recorded) => _failedHere.Add((device, recorded));

    /// <summary>A release or sync of a handle whose map the emulation failed: counted, and kept from the checks.</summary>
    private bool NotReplayed(int device, ulong recorded, bool release)
    {
        if (_failedHere.Count == 0 || !(release ? _failedHere.Remove((device, recorded)) : _failedHere.Contains((device, recorded)))) return false;
        _notReplayed++;
        _drop = true;
        return true;
    }

    private LiveSg RentSg(int n)
    {
        var sg = _freeSg.Count > 0 ? _freeSg.Pop() : new LiveSg();
        sg.Reset(n);
        return sg;
    }

    // dma_direct_map_sg: every entry through the single path, no merging; a failure unmaps the mapped prefix.
    private void MapSg(DmaEvent e)
    {
        var m = Model(e.Device);
        if (Translated(m))
        {
            MapSgIommu(e, m);
            return;
        }
        var phys = e.PhysAddrs;
        var lens = e.Lengths;
        var recorded = e.DmaAddrs;
        int n = Math.Min(phys.Length, Math.Min(lens.Length, recorded.Length));
        var sg = RentSg(n);
        phys[..n].CopyTo(sg.Phys);
        recorded[..n].CopyTo(sg.Recorded);
        lens[..n].CopyTo(sg.Lengths);
        int cursor = 0;
        var claimed = sg.Claimed;
        for (int i = 0; i < n; i++) claimed[i] = Claim(e, phys[i], lens[i], ref cursor);
        Consume(e, cursor);
        FlushOrphans(e);

        int failedAt = -1;
        for (int i = 0; i < n; i++)
        {
            if (failedAt >= 0)
            {
                // The kernel would not have tried the rest: give back what was taken for them.
                if (claimed[i]?.Result is { Ok: true } r) ReleaseBounce(e, r.TlbAddr, lens[i], DmaDirection.ToDevice, DmaAttrs.SkipCpuSync);
                continue;
            }
            (sg.Emulated[i], sg.Bounced[i]) = MapBuffer(e, claimed[i], phys[i], lens[i]);
            if (sg.Emulated[i] == DmaAddress.MappingError) failedAt = i;
        }
        if (failedAt >= 0)
        {
            for (int i = 0; i < failedAt; i++)
            {
                if (sg.Bounced[i]) ReleaseBounce(e, DmaDirect.DmaToPhys(m, _platform, sg.Emulated[i]), lens[i], e.Direction, DmaAttrs.SkipCpuSync);
            }
            _failPredicted++;
            Mismatched(e, "emulation failed dma_map_sg, kernel mapped", phys[failedAt], lens[failedAt], recorded[failedAt], DmaAddress.MappingError);
            _freeSg.Push(sg);
            return;
        }
        Array.Clear(claimed, 0, n);
        for (int i = 0; i < n; i++)
            Compare(e, claimed[i] is not null, recorded[i], sg.Emulated[i], sg.Bounced[i], phys[i], lens[i], DmaDirect.PhysToDma(m, _platform, phys[i]));
        AddLiveSg(e.Device, sg);
        (_witnessSg, _witnessValid) = (sg.Bounced, true);
        _out.SetArray(SgArray.Dma, sg.Emulated.AsSpan(0, n));
    }

    /// <summary>Keyed by the first entry's physical address, which dma_unmap_sg prints; chained when several share it.</summary>
    private void AddLiveSg(int device, LiveSg sg)
    {
        ref var head = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_liveSg, (device, sg.Count > 0 ? sg.Phys[0] : 0), out bool exists);
        if (exists)
        {
            var last = head!;
            while (last.Next is not null) last = last.Next;
            last.Next = sg;
        }
        else
        {
            head = sg;
        }
    }

    private LiveMap AddLive(Dictionary<(int Device, ulong Recorded), LiveMap> table, int device, ulong recorded, ulong emulated, ulong size, bool bounced)
    {
        LiveMap lm;
        if (_freeMaps is { } free)
        {
            _freeMaps = free.Next;
            lm = free;
        }
        else
        {
            lm = new LiveMap();
        }
        lm.Emulated = emulated;
        lm.Size = size;
        lm.Bounced = bounced;
        lm.BouncePhys = 0;
        lm.Next = null;
        ref var head = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(table, (device, recorded), out bool exists);
        if (exists)
        {
            var last = head!;
            while (last.Next is not null) last = last.Next;
            last.Next = lm;
        }
        else
        {
            head = lm;
        }
        return lm;
    }
}
