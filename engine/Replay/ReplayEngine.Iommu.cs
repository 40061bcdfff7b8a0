using DmaReplay.Engine.Direct;
using DmaReplay.Engine.Iommu;
using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// Devices behind a translating IOMMU (domain DMA or DMA-FQ): every map, unmap and coherent
/// allocation goes to the dma-iommu model on the CPU and at the time the trace recorded it, and
/// the IOVA it returns is compared with the kernel's ("iova" mismatches).
/// </summary>
public sealed partial class ReplayEngine
{
    private readonly Dictionary<(int Device, ulong Recorded), LiveMap> _coherent = new();
    private long _iommuCompared, _iommuExact;

    /// <summary>Devices behind a translating IOMMU take the dma-iommu path.</summary>
    private static bool Translated(DeviceModel m) => m.IommuDomain is IommuDomainType.Dma or IommuDomainType.DmaFq;

    /// <summary>The kernel's address witnesses flush-queue timing only on the capture's own platform.</summary>
    private ulong Witness(ulong recorded) => IsCaptureOwn ? recorded : 0;

    private void CompareIova(DmaEvent e, DeviceModel m, ulong recorded, ulong emulated, ulong phys, ulong size)
    {
        if (recorded == DmaAddress.MappingError || emulated == DmaAddress.MappingError)
        {
            CompareFailure(e, recorded, emulated, phys, size);
            return;
        }
        if (recorded != emulated && phys != 0 && recorded == DmaDirect.PhysToDma(m, _platform, phys))
        {
            // A what-if put the device behind an IOMMU the capture did not have: no IOVA to compare with.
            Mismatched(e, "emulation translated, kernel mapped directly", phys, size, recorded, emulated);
            return;
        }
        _iommuCompared++;
        if (recorded == emulated) _iommuExact++;
        else Mismatched(e, "iova", phys, size, recorded, emulated);
    }

    // iommu_dma_map_page
    private void MapSingleIommu(DmaEvent e, DeviceModel m)
    {
        var r = _iommu.MapPage(m, e.PhysAddr, e.Size, e.Cpu, e.TimestampNs, Witness(e.DmaAddr));
        CompareIova(e, m, e.DmaAddr, r.Dma, e.PhysAddr, e.Size);
        if (e.IsMappingError)
        {
            if (!r.Failed) _iommu.UnmapPage(m, r, e.Size, e.Direction, DmaAttrs.SkipCpuSync, e.Cpu, e.TimestampNs);
        }
        else if (!r.Failed)
        {
            AddLive(_live, e.Device, e.DmaAddr, r.Dma, e.Size, r.Bounced).BouncePhys = r.BouncePhys;
        }
        else
        {
            FailedHere(e.Device, e.DmaAddr);
        }
        _out.DmaAddr = r.Dma;
    }

    // iommu_dma_unmap_page
    private void UnmapSingleIommu(DmaEvent e, DeviceModel m, LiveMap lm) =>
        _iommu.UnmapPage(m, new IommuMapping(lm.Emulated, lm.Bounced, lm.BouncePhys), e.Size, e.Direction, e.Attrs, e.Cpu, e.TimestampNs);

    /// <summary>
    /// iommu_dma_map_sg. The trace gives every entry's physical address but only the lengths of
    /// the DMA segments; when no entries were merged (ents == nents) those are the entries'
    /// lengths. Merged entries are replayed as the segments they formed: only a segment's
    /// granule offset and length decide the IOVA layout, and a merged segment is laid out as its
    /// entries were (they joined on granule boundaries).
    /// </summary>
    private void MapSgIommu(DmaEvent e, DeviceModel m)
    {
        var phys = e.PhysAddrs;
        var recorded = e.DmaAddrs;
        var lens = e.Lengths;
        int segs = Math.Min(recorded.Length, lens.Length);
        bool unmerged = phys.Length == segs;
        int n = unmerged ? phys.Length : segs;
        var sg = RentSg(Math.Max(phys.Length, n));
        phys.CopyTo(sg.Phys);
        sg.Count = phys.Length;
        Span<ulong> input = n <= 128 ? stackalloc ulong[n] : new ulong[n];
        ulong g = _iommu.DomainOf(m).GranuleMask;
        for (int i = 0; i < n; i++) input[i] = unmerged ? phys[i] : recorded[i] & g; // a merged segment: its offset is all that counts
        Span<IommuMapping> maps = n <= 128 ? stackalloc IommuMapping[n] : new IommuMapping[n];
        int count = _iommu.MapSg(m, input, lens[..n], maps, sg.Lengths, e.Cpu, e.TimestampNs, recorded.IsEmpty ? 0 : Witness(recorded[0]), physKnown: unmerged);
        if (count < 0)
        {
            _failPredicted++;
            Mismatched(e, "emulation failed dma_map_sg, kernel mapped", phys.IsEmpty ? 0 : phys[0], lens.IsEmpty ? 0 : lens[0],
                recorded.IsEmpty ? 0 : recorded[0], DmaAddress.MappingError);
            _freeSg.Push(sg);
            return;
        }
        sg.Segments = count;
        for (int i = 0; i < count; i++)
        {
            sg.Emulated[i] = maps[i].Dma;
            sg.Bounced[i] = maps[i].Bounced;
            sg.BouncePhys[i] = maps[i].BouncePhys;
            sg.Recorded[i] = i < segs ? recorded[i] : DmaAddress.MappingError;
        }
        for (int i = 0; i < Math.Min(count, segs); i++) CompareIova(e, m, recorded[i], maps[i].Dma, i < phys.Length ? phys[i] : 0, lens[i]);
        bool kernelDirect = segs > 0 && !phys.IsEmpty && recorded[0] != maps[0].Dma && recorded[0] == DmaDirect.PhysToDma(m, _platform, phys[0]);
        if (count != segs && !kernelDirect)
            Mismatched(e, "iova segment count (recorded, emulated)", phys.IsEmpty ? 0 : phys[0], 0, (ulong)segs, (ulong)count); // constant text: no string per call
        AddLiveSg(e.Device, sg);
        _out.Ents = count; // dma-debug records the count the map returned: its unmap stops there (debug_dma_unmap_sg)
        _out.SetArray(SgArray.Dma, sg.Emulated.AsSpan(0, count));
        _out.SetArray(SgArray.Lengths, sg.Lengths.AsSpan(0, count));
    }

    // iommu_dma_unmap_sg
    private void UnmapSgIommu(DmaEvent e, DeviceModel m, LiveSg sg)
    {
        Span<IommuMapping> maps = sg.Segments <= 128 ? stackalloc IommuMapping[sg.Segments] : new IommuMapping[sg.Segments];
        for (int i = 0; i < sg.Segments; i++) maps[i] = new IommuMapping(sg.Emulated[i], sg.Bounced[i], sg.BouncePhys[i]);
        _iommu.UnmapSg(m, maps, sg.Lengths.AsSpan(0, sg.Segments), e.Direction, e.Attrs, e.Cpu, e.TimestampNs);
    }

    // dma_alloc_attrs → iommu_dma_alloc
    private void AllocIommu(DmaEvent e)
    {
        var m = Model(e.Device);
        if (!Translated(m)) return;
        ulong emulated = _iommu.Alloc(m, e.Size, e.Cpu, e.TimestampNs, Witness(e.DmaAddr));
        CompareIova(e, m, e.DmaAddr, emulated, 0, e.Size);
        if (e.DmaAddr != DmaAddress.MappingError && emulated != DmaAddress.MappingError)
            AddLive(_coherent, e.Device, e.DmaAddr, emulated, e.Size, bounced: false);
        else if (emulated != DmaAddress.MappingError)
            _iommu.Free(m, emulated, e.Size, e.Cpu, e.TimestampNs);
        _out.DmaAddr = emulated;
    }

    // dma_free_attrs → iommu_dma_free
    private void FreeIommu(DmaEvent e)
    {
        var m = Model(e.Device);
        if (!Translated(m)) return;
        var lm = TakeLive(_coherent, e.Device, e.DmaAddr, e.Size);
        if (lm is null) return;
        _iommu.Free(m, lm.Emulated, e.Size, e.Cpu, e.TimestampNs);
        _out.DmaAddr = lm.Emulated;
        Recycle(lm);
    }

    private IommuHardwareReport Hardware(Iommu.Hardware.IommuHardware.Domain hw)
    {
        var g = _hardware.Geometry;
        return new IommuHardwareReport(g.Name, g.Entries, g.Ways, hw.Lookups, hw.Hits, hw.Misses, hw.PageWalks, hw.WalkLevelsRead,
            hw.Invalidations, hw.InvalidatedPages, hw.PageTable.PeakPages, hw.PageTable.Pages, hw.PageTable.LargeMaps);
    }

    private IommuReport? IommuSummary()
    {
        _iommu.Advance(_lastNs);
        if (_iommu.Domains.Count == 0) return null;
        var domains = _iommu.Domains.OrderBy(d => d.Name, StringComparer.Ordinal).Select(d => new IommuDomainReport(
            d.Name, d.Fq is null ? "strict" : "lazy", d.Allocations, d.Iovad.RcacheHits, d.Allocations - d.Iovad.RcacheHits,
            d.AllocationFailures, d.Iovad.RcacheFlushes, d.PeakLivePages * d.Iovad.Granule, d.PeakTreePages * d.Iovad.Granule,
            d.LowestIova == ulong.MaxValue ? null : d.LowestIova, d.LivePages * d.Iovad.Granule,
            d.Fq?.TimerFlushes ?? 0, d.Fq?.FullFlushes ?? 0, d.Fq?.WitnessedFlushes ?? 0, d.Fq?.MigratedFlushes ?? 0, d.Iovad.Rcaches.DepotPushes, d.Iovad.Rcaches.DepotTrims)
        {
            Devices = d.Devices.Order(StringComparer.Ordinal).ToList(),
            Hardware = _hardwareDomains.TryGetValue(d, out var hw) ? Hardware(hw) : null,
        }).ToList();
        return new IommuReport(_platform.Iommu.Granule, _iommu.DacFallbacks, _iommu.Bounces, domains);
    }

    /// <summary>A dma_sync_* of a translated mapping: the device access iommu.access=map+sync+unmap puts there.</summary>
    private void HardwareSynced(DeviceModel m, ulong iova, ulong size)
    {
        if (_hardware.DeviceAccess != Iommu.Hardware.DeviceAccess.MapSyncUnmap || !Translated(m)) return;
        if (_hardwareDomains.TryGetValue(_iommu.DomainOf(m), out var hw)) hw.Synced(iova, size);
    }
}
