using DmaReplay.Engine.Direct;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

public sealed partial class ReplayEngine
{
    /// <summary>The live mapping the driver releases with this recorded handle: the same size if there are several.</summary>
    private static LiveMap? TakeLive(Dictionary<(int Device, ulong Recorded), LiveMap> table, int device, ulong recorded, ulong size)
    {
        var key = (device, recorded);
        // One lookup for the usual case: the handle is mapped once, and taken out whole.
        if (!table.Remove(key, out var head)) return null;
        if (head.Next is null) return head;
        table[key] = head;
        LiveMap? prev = null, hit = head, hitPrev = null;
        for (var lm = head; lm is not null; prev = lm, lm = lm.Next)
        {
            if (lm.Size != size) continue;
            hit = lm;
            hitPrev = prev;
            break;
        }
        if (hitPrev is null)
        {
            if (hit.Next is null) table.Remove(key);
            else table[key] = hit.Next;
        }
        else
        {
            hitPrev.Next = hit.Next;
        }
        return hit;
    }

    private void Recycle(LiveMap lm)
    {
        lm.Next = _freeMaps;
        _freeMaps = lm;
    }

    // dma_direct_unmap_page: copy back (FROM_DEVICE/BIDIRECTIONAL unless SKIP_CPU_SYNC), then free the slots.
    private void UnmapSingle(DmaEvent e)
    {
        var m = Model(e.Device);
        var lm = TakeLive(_live, e.Device, e.DmaAddr, e.Size);
        if (lm is null)
        {
            if (NotReplayed(e.Device, e.DmaAddr, release: true)) return;
            // Released before (the checks report a double unmap of the emulated handle), or never mapped.
            if (_recent.TryGet(e.Device, e.DmaAddr, out ulong earlier)) _out.DmaAddr = earlier;
            return;
        }
        if (Translated(m)) UnmapSingleIommu(e, m, lm);
        else CoherencyUnmapped(e, m, lm.Emulated, e.Size);
        if (!Translated(m) && lm.Bounced) ReleaseBounce(e, DmaDirect.DmaToPhys(m, _platform, lm.Emulated), e.Size, e.Direction, e.Attrs);
        _recent.Add(e.Device, e.DmaAddr, lm.Emulated);
        _out.DmaAddr = lm.Emulated;
        Recycle(lm);
    }

    // dma_direct_unmap_sg: every entry of the list the map stored, by the physical addresses the unmap prints.
    private void UnmapSg(DmaEvent e)
    {
        var m = Model(e.Device);
        var phys = e.PhysAddrs;
        if (phys.IsEmpty || !_liveSg.TryGetValue((e.Device, phys[0]), out var head)) return;
        LiveSg? prev = null, hit = null, hitPrev = null;
        for (var sg = head; sg is not null; prev = sg, sg = sg.Next)
        {
            int n = Math.Min(sg.Count, phys.Length);
            if (!sg.Phys.AsSpan(0, n).SequenceEqual(phys[..n])) continue;
            hit = sg;
            hitPrev = prev;
            break;
        }
        if (hit is null) return;
        if (hitPrev is null)
        {
            if (hit.Next is null) _liveSg.Remove((e.Device, phys[0]));
            else _liveSg[(e.Device, phys[0])] = hit.Next;
        }
        else
        {
            hitPrev.Next = hit.Next;
        }
        if (Translated(m))
        {
            UnmapSgIommu(e, m, hit);
        }
        else
        {
            for (int i = 0; i < hit.Count; i++)
            {
                CoherencyUnmapped(e, m, hit.Emulated[i], hit.Lengths[i]);
                if (hit.Bounced[i]) ReleaseBounce(e, DmaDirect.DmaToPhys(m, _platform, hit.Emulated[i]), hit.Lengths[i], e.Direction, e.Attrs);
            }
        }
        _freeSg.Push(hit);
    }

    /// <summary>The live mapping whose recorded range holds <paramref name="recorded"/>, and the offset into it.</summary>
    private LiveMap? FindLive(int device, ulong recorded, out ulong offset)
    {
        offset = 0;
        if (_live.TryGetValue((device, recorded), out var exact)) return exact;
        foreach (var ((dev, start), lm) in _live) // a sync into the middle of a mapping: rare, so a scan
        {
            if (dev == device && recorded >= start && recorded - start < lm.Size)
            {
                offset = recorded - start;
                return lm;
            }
        }
        return null;
    }

    private void SyncSingle(DmaEvent e)
    {
        var m = Model(e.Device);
        var lm = FindLive(e.Device, e.DmaAddr, out ulong offset);
        if (lm is null)
        {
            NotReplayed(e.Device, e.DmaAddr, release: false);
            return;
        }
        ulong emulated = lm.Emulated + offset;
        HardwareSynced(m, emulated, e.Size);
        CoherencySynced(e, m, emulated, e.Size, forCpu: e.Kind == DmaEventKind.DmaSyncSingleForCpu);
        if (lm.Bounced) SyncBounce(e, BounceAddress(m, emulated, lm.BouncePhys + offset), e.Size, forCpu: e.Kind == DmaEventKind.DmaSyncSingleForCpu);
        _out.DmaAddr = emulated;
    }

    /// <summary>The bounce buffer behind an emulated handle: dma-direct's handle is its DMA address, dma-iommu recorded it.</summary>
    private ulong BounceAddress(Platform.DeviceModel m, ulong emulatedDma, ulong iommuBounce) =>
        Translated(m) ? iommuBounce : DmaDirect.DmaToPhys(m, _platform, emulatedDma);

    private void SyncSg(DmaEvent e)
    {
        var m = Model(e.Device);
        var dma = e.DmaAddrs;
        var lens = e.Lengths;
        if (_scratch.Length < dma.Length) _scratch = new ulong[Math.Max(dma.Length, _scratch.Length * 2)];
        bool forCpu = e.Kind == DmaEventKind.DmaSyncSgForCpu;
        for (int i = 0; i < dma.Length; i++)
        {
            _scratch[i] = dma[i];
            if (!FindSgEntry(e.Device, dma[i], out var sg, out int entry)) continue;
            ulong offset = dma[i] - sg!.Recorded[entry];
            _scratch[i] = sg.Emulated[entry] + offset;
            HardwareSynced(m, _scratch[i], lens[i]);
            CoherencySynced(e, m, _scratch[i], lens[i], forCpu, firstEntry: i == 0);
            if (sg.Bounced[entry]) SyncBounce(e, BounceAddress(m, _scratch[i], sg.BouncePhys[entry] + offset), lens[i], forCpu);
        }
        _out.SetArray(SgArray.Dma, _scratch.AsSpan(0, dma.Length));
    }

    private bool FindSgEntry(int device, ulong recorded, out LiveSg? found, out int entry)
    {
        foreach (var ((dev, _), head) in _liveSg)
        {
            if (dev != device) continue;
            for (var sg = head; sg is not null; sg = sg.Next)
            {
                for (int i = 0; i < sg.Segments; i++)
                {
                    if (recorded >= sg.Recorded[i] && recorded - sg.Recorded[i] < sg.Lengths[i])
                    {
                        found = sg;
                        entry = i;
                        return true;
                    }
                }
            }
        }
        found = null;
        entry = -1;
        return false;
    }

    private void SyncBounce(DmaEvent e, ulong bouncePhys, ulong size, bool forCpu)
    {
        if (_swiotlb is null) return;
        long to = _swiotlb.BytesToDevice, from = _swiotlb.BytesFromDevice;
        _swiotlb.Sync(_bounceDevs[e.Device], bouncePhys, size, e.Direction, forCpu);
        long copied = _swiotlb.BytesToDevice - to + (_swiotlb.BytesFromDevice - from);
        var stats = Stats(e.Device);
        if (forCpu)
        {
            _bytesSyncCpu += copied;
            stats.BytesFrom += copied;
        }
        else
        {
            _bytesSyncDev += copied;
            stats.BytesTo += copied;
        }
    }
}
