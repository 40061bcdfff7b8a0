using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Iommu;

/// <summary>What dma-iommu keeps per device: dev->iommu->pci_32bit_workaround and the limits it reads.</summary>
public sealed class IommuDevice(DeviceModel model, bool pci32BitWorkaround)
{
    public DeviceModel Model { get; } = model;
    /// <summary>Cleared for good the first time the 32-bit space cannot hold an allocation.</summary>
    public bool Pci32BitWorkaround { get; set; } = pci32BitWorkaround;
    public long Dac { get; set; }
}

/// <summary>
/// One DMA-API domain: the iommu_dma_cookie of drivers/iommu/dma-iommu.c (the IOVA domain, the
/// flush queue of a DMA-FQ domain and its timer) and the IOVA-level helpers every map path uses
/// (iommu_dma_alloc_iova, iommu_dma_free_iova, __iommu_dma_map, __iommu_dma_unmap). Each call
/// first runs the timers and delayed work due by its time, in due order.
/// </summary>
public sealed class IommuDmaDomain
{
    private readonly IommuConfig _cfg;

    public IommuDmaDomain(string name, IommuConfig cfg, int cpus, bool flushQueue, KernelDefaults k)
    {
        Name = name;
        _cfg = cfg;
        Clock = new JiffyClock(k.Hz, cfg.TickPhaseNs);
        int shift = System.Numerics.BitOperations.TrailingZeroCount(cfg.Granule);
        Iovad = new IovaDomain(cfg.Granule, Math.Max(1, cfg.ApertureStart >> shift), cpus, k, Clock);
        if (flushQueue) Fq = new FlushQueue(Iovad, cpus, cfg.SingleFlushQueue, k, Clock) { LateNs = cfg.FlushTimerLateNs, OnFlush = () => PageTable?.FlushAll(this) };
    }

    public string Name { get; }
    /// <summary>Who sees the IO page-table updates (the witness check, the hardware model); null for none.</summary>
    public IIommuPageTable? PageTable { get; set; }
    /// <summary>The devices attached so far (iommu_attach_device), in attach order.</summary>
    public List<string> Devices { get; } = [];
    public JiffyClock Clock { get; }
    public IovaDomain Iovad { get; }
    /// <summary>The flush queue of a DMA-FQ (lazy) domain; null in strict mode.</summary>
    public FlushQueue? Fq { get; }
    public ulong GranuleMask => Iovad.Granule - 1;

    public long Allocations { get; private set; }
    public long AllocationFailures { get; private set; }
    /// <summary>Granules handed to mappings and not yet unmapped (rounded sizes).</summary>
    public ulong LivePages { get; private set; }
    public ulong PeakLivePages { get; private set; }
    public ulong PeakTreePages { get; private set; }
    public ulong LowestIova { get; private set; } = ulong.MaxValue;

    public ulong IovaAlign(ulong size) => (size + GranuleMask) & ~GranuleMask;

    /// <summary>Runs what is due by <paramref name="nowNs"/>: the flush timer and the depot trimming work, earliest first.</summary>
    public void Advance(long nowNs)
    {
        while (true)
        {
            long fq = Fq?.TimerDue ?? long.MaxValue, work = Iovad.NextWorkDue;
            long due = Math.Min(fq, work);
            if (due > nowNs) break;
            Iovad.NowNs = due;
            if (fq <= work) Fq!.Timeout();
            else Iovad.RunDueWork(due);
        }
        Iovad.NowNs = nowNs;
    }

    /// <summary>
    /// iommu_dma_alloc_iova: the limit is the mask capped by bus_dma_limit and the aperture; a PCI
    /// device tries the 32-bit space first (without flushing the caches) until that fails once.
    /// Returns the IOVA or 0. <paramref name="witness"/> is the IOVA the kernel returned, when
    /// known: in a DMA-FQ domain, one still queued here shows the flush timer ran before.
    /// </summary>
    public ulong AllocIova(ulong size, ulong dmaLimit, IommuDevice dev, int cpu, ulong witness = 0)
    {
        int shift = Iovad.Shift;
        ulong len = size >> shift;
        if (dev.Model.BusDmaLimit != 0 && (dmaLimit == 0 || dev.Model.BusDmaLimit < dmaLimit)) dmaLimit = dev.Model.BusDmaLimit;
        dmaLimit = Math.Min(dmaLimit, _cfg.ApertureEnd); // geometry.force_aperture
        if (Fq is not null && witness != 0)
        {
            ulong w = witness >> shift;
            if (Fq.TryFindQueued(w, out long queuedNs)) Fq.FireWitnessed(cpu, queuedNs);
            ulong rounded = len < 1UL << (Iovad.Rcaches.MaxOrder - 1) ? System.Numerics.BitOperations.RoundUpToPowerOf2(len) : len;
            Fq.Reassign(w, cpu, rounded, (dmaLimit > uint.MaxValue && dev.Pci32BitWorkaround ? uint.MaxValue : dmaLimit) >> shift);
        }
        ulong pfn;
        if (dmaLimit > uint.MaxValue && dev.Pci32BitWorkaround)
        {
            pfn = Iovad.AllocIovaFast(len, uint.MaxValue >> shift, false, cpu, out _);
            if (pfn != 0) return Allocated(pfn, len);
            dev.Pci32BitWorkaround = false; // "Using %d-bit DMA addresses"
            dev.Dac++;
        }
        pfn = Iovad.AllocIovaFast(len, dmaLimit >> shift, true, cpu, out _);
        return pfn == 0 ? Failed() : Allocated(pfn, len);
    }

    private ulong Failed()
    {
        AllocationFailures++;
        return 0;
    }

    private ulong Allocated(ulong pfn, ulong len)
    {
        Allocations++;
        LivePages += len;
        PeakLivePages = Math.Max(PeakLivePages, LivePages);
        PeakTreePages = Math.Max(PeakTreePages, Iovad.PagesInTree);
        LowestIova = Math.Min(LowestIova, pfn << Iovad.Shift);
        return pfn << Iovad.Shift;
    }

    /// <summary>iommu_dma_free_iova: queued behind a flush in a DMA-FQ domain (unless <paramref name="immediate"/>), else into the range cache.</summary>
    public void FreeIova(ulong iova, ulong size, int cpu, bool immediate)
    {
        ulong pfn = iova >> Iovad.Shift, pages = size >> Iovad.Shift;
        LivePages -= Math.Min(LivePages, pages);
        if (Fq is not null && !immediate) Fq.Queue(pfn, pages, cpu, Iovad.NowNs);
        else Iovad.FreeIovaFast(pfn, pages, cpu);
    }

    /// <summary>__iommu_dma_map: the granule offset of <paramref name="phys"/> is kept in the returned address.</summary>
    public ulong Map(ulong phys, ulong size, ulong dmaMask, IommuDevice dev, int cpu, ulong witness = 0)
    {
        ulong off = phys & GranuleMask;
        if (dev.Model.MinAlignMask > GranuleMask) return DmaAddress.MappingError; // "Unsupported alignment constraint"
        ulong len = IovaAlign(size + off);
        ulong iova = AllocIova(len, dmaMask, dev, cpu, witness);
        if (iova == 0) return DmaAddress.MappingError;
        PageTable?.Map(this, iova, phys - off, len); // iommu_map
        return iova + off;
    }

    /// <summary>__iommu_dma_unmap: the whole granules the mapping covered.</summary>
    public void Unmap(ulong dma, ulong size, int cpu)
    {
        ulong off = dma & GranuleMask, len = IovaAlign(size + off);
        PageTable?.Unmap(this, dma - off, len, strict: Fq is null); // iommu_unmap_fast, then iommu_iotlb_sync unless queued
        FreeIova(dma - off, len, cpu, immediate: false);
    }

    /// <summary>
    /// iova_reserve_iommu_regions: the host bridge windows for a PCI device, then the device's
    /// reserved regions except software-managed MSI windows.
    /// </summary>
    public void Reserve(DeviceModel dev)
    {
        int shift = Iovad.Shift;
        if (dev.Bus == "pci")
        {
            foreach (var w in _cfg.HostBridgeWindows) Iovad.ReserveIova(w.Start >> shift, w.End >> shift);
        }
        foreach (var r in dev.IommuReserved)
        {
            if (r.Type == "msi" && _cfg.SoftwareMsi) continue;
            Iovad.ReserveIova(r.Start >> shift, r.End >> shift);
        }
    }
}
