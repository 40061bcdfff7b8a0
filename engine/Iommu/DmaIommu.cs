using DmaReplay.Engine.Direct;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Swiotlb;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Iommu;

/// <summary>One mapping dma-iommu made: the DMA address and, for an untrusted device's unaligned buffer, the bounce buffer behind it.</summary>
public readonly record struct IommuMapping(ulong Dma, bool Bounced, ulong BouncePhys)
{
    public bool Failed => Dma == DmaAddress.MappingError;
}

/// <summary>
/// dma-iommu (drivers/iommu/dma-iommu.c, Linux 6.12) for the translated devices of a platform:
/// one DMA domain per IOMMU group, set up on first use (iommu_dma_init_domain), and the DMA API
/// entry points on top of it. Calls carry the CPU they ran on and their time on the trace clock:
/// the range caches are per CPU and the flush queue's timer runs on trace time. A map may carry
/// the address the kernel returned (the witness; <see cref="DmaAddress.MappingError"/> or 0 for
/// none): it only ever decides when a flush-queue timer ran, never an address.
/// </summary>
public sealed class DmaIommu(PlatformModel platform, SwiotlbMem? swiotlb)
{
    private readonly Dictionary<string, IommuDmaDomain> _domains = new();
    private readonly Dictionary<string, (IommuDevice Dev, IommuDmaDomain Domain)> _devices = new();

    public IReadOnlyCollection<IommuDmaDomain> Domains => _domains.Values;
    /// <summary>Makes the observer of a new domain's page-table updates; null for none.</summary>
    public Func<IommuDmaDomain, IIommuPageTable?>? PageTableFor { get; set; }
    public long Bounces { get; private set; }

    private (IommuDevice Dev, IommuDmaDomain Domain) Attach(DeviceModel m)
    {
        if (_devices.TryGetValue(m.Name, out var known)) return known;
        string key = m.IommuGroup is { } g ? $"group {g}" : m.Name;
        if (!_domains.TryGetValue(key, out var domain))
        {
            domain = new IommuDmaDomain(key, platform.Iommu, platform.Cpus, m.IommuDomain == IommuDomainType.DmaFq, platform.Kernel);
            domain.Reserve(m); // only the first device's init reserves: a set-up domain is left as it is
            domain.PageTable = PageTableFor?.Invoke(domain);
            _domains[key] = domain;
        }
        var dev = new IommuDevice(m, m.Bus == "pci" && !platform.Iommu.ForceDac);
        domain.Devices.Add(m.Name);
        return _devices[m.Name] = (dev, domain);
    }

    private static ulong Witness(IommuDmaDomain d, ulong recorded) =>
        recorded == DmaAddress.MappingError ? 0 : recorded & ~d.GranuleMask;

    private IommuDmaDomain At(DeviceModel m, long ns, out IommuDevice dev)
    {
        var (d, domain) = Attach(m);
        dev = d;
        domain.Advance(ns);
        return domain;
    }

    /// <summary>The domain a device is attached to (set up on first use).</summary>
    public IommuDmaDomain DomainOf(DeviceModel m) => Attach(m).Domain;

    /// <summary>Runs every domain's timers up to <paramref name="ns"/>.</summary>
    public void Advance(long ns)
    {
        foreach (var d in _domains.Values) d.Advance(ns);
    }

    /// <summary>
    /// iommu_dma_map_page: an untrusted device's buffer that is not granule aligned at both ends
    /// bounces through SWIOTLB first (granule-aligned slots), then the (bounce) buffer is mapped
    /// with the device's DMA mask.
    /// </summary>
    public IommuMapping MapPage(DeviceModel m, ulong phys, ulong size, int cpu, long ns, ulong witness = 0)
    {
        var domain = At(m, ns, out var dev);
        bool bounce = m.Untrusted && ((phys | size) & domain.GranuleMask) != 0;
        ulong mapped = phys;
        if (bounce)
        {
            if (swiotlb is null) return new IommuMapping(DmaAddress.MappingError, false, 0); // "DMA bounce buffers are inactive"
            var r = swiotlb.Map(new BounceDevice(m.MinAlignMask, m.SegmentBoundaryMask), phys, size, domain.GranuleMask, cpu,
                pa => DmaDirect.PhysToDmaUnencrypted(m, pa));
            if (!r.Ok) return new IommuMapping(DmaAddress.MappingError, false, 0);
            Bounces++;
            mapped = r.TlbAddr;
        }
        ulong dma = domain.Map(mapped, size, m.DmaMask, dev, cpu, Witness(domain, witness));
        if (dma == DmaAddress.MappingError)
        {
            if (bounce) swiotlb!.Unmap(new BounceDevice(m.MinAlignMask, m.SegmentBoundaryMask), mapped, size, DmaDirection.ToDevice, DmaAttrs.SkipCpuSync);
            return new IommuMapping(DmaAddress.MappingError, false, 0);
        }
        return new IommuMapping(dma, bounce, bounce ? mapped : 0);
    }

    /// <summary>iommu_dma_unmap_page: the IOVA range first, then the bounce buffer (copied back per direction).</summary>
    public void UnmapPage(DeviceModel m, IommuMapping mapping, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu, long ns)
    {
        At(m, ns, out _).Unmap(mapping.Dma, size, cpu);
        if (mapping.Bounced) swiotlb?.Unmap(new BounceDevice(m.MinAlignMask, m.SegmentBoundaryMask), mapping.BouncePhys, size, dir, attrs);
    }

    /// <summary>
    /// iommu_dma_map_sg. Untrusted devices map every entry on its own (iommu_dma_map_sg_swiotlb).
    /// Otherwise the entries are laid out in one IOVA range (granule-aligned, padded to start on a
    /// segment boundary where one would be crossed) and __finalise_sg merges them into DMA
    /// segments (max_segment_size, segment boundary, granule-aligned joins). Writes the segments
    /// (and per-entry mappings for the bounce path) and returns their count, or −1 on failure.
    /// </summary>
    public int MapSg(DeviceModel m, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> lengths, Span<IommuMapping> output,
        Span<ulong> outLengths, int cpu, long ns, ulong witness = 0, bool physKnown = true)
    {
        var domain = At(m, ns, out var dev);
        int n = Math.Min(phys.Length, lengths.Length);
        if (m.Untrusted)
        {
            for (int i = 0; i < n; i++)
            {
                output[i] = MapPage(m, phys[i], lengths[i], cpu, ns, i == 0 ? witness : 0);
                outLengths[i] = lengths[i];
                if (!output[i].Failed) continue;
                for (int j = 0; j < i; j++) UnmapPage(m, output[j], lengths[j], DmaDirection.ToDevice, DmaAttrs.SkipCpuSync, cpu, ns);
                return -1;
            }
            return n;
        }

        ulong g = domain.GranuleMask, mask = m.SegmentBoundaryMask, iovaLen = 0;
        Span<ulong> padded = n <= 64 ? stackalloc ulong[n] : new ulong[n];
        for (int i = 0; i < n; i++)
        {
            ulong off = phys[i] & g;
            ulong len = domain.IovaAlign(lengths[i] + off);
            ulong pad = unchecked((mask - iovaLen + 1) & mask);
            if (pad != 0 && pad < len - 1)
            {
                padded[i - 1] += pad;
                iovaLen += pad;
            }
            padded[i] = len;
            iovaLen += len;
        }
        ulong iova = 0;
        if (iovaLen != 0)
        {
            iova = domain.AllocIova(iovaLen, m.DmaMask, dev, cpu, Witness(domain, witness));
            if (iova == 0) return -1;
            MapSgPages(domain, phys[..n], padded[..n], iova, iovaLen, physKnown);
        }
        return FinaliseSg(m, phys[..n], lengths[..n], padded, iova, g, output, outLengths);
    }

    /// <summary>
    /// iommu_map_sg: the entries (granule aligned, padded) are mapped in runs of physically
    /// contiguous ones, one iommu_map per run. Without the entries' pages (merged segments) the
    /// range is one update of unknown paddr.
    /// </summary>
    private static void MapSgPages(IommuDmaDomain domain, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> padded, ulong iova, ulong iovaLen, bool physKnown)
    {
        if (domain.PageTable is not { } pt) return;
        if (!physKnown)
        {
            pt.Map(domain, iova, IIommuPageTable.UnknownPaddr, iovaLen);
            return;
        }
        ulong g = domain.GranuleMask, mapped = 0, start = 0, len = 0;
        for (int i = 0; i < phys.Length; i++)
        {
            ulong s = phys[i] & ~g;
            if (len != 0 && s != start + len)
            {
                pt.Map(domain, iova + mapped, start, len);
                mapped += len;
                len = 0;
            }
            if (len != 0) len += padded[i];
            else (start, len) = (s, padded[i]);
        }
        if (len != 0) pt.Map(domain, iova + mapped, start, len);
    }

    /// <summary>__finalise_sg: max_len and cur_len are unsigned int in the kernel.</summary>
    private static int FinaliseSg(DeviceModel m, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> lengths, ReadOnlySpan<ulong> padded,
        ulong dma, ulong g, Span<IommuMapping> output, Span<ulong> outLengths)
    {
        ulong segMask = m.SegmentBoundaryMask;
        uint maxLen = (uint)Math.Min(m.MaxSegmentSize, uint.MaxValue), curLen = 0;
        int cur = 0, count = 0;
        for (int i = 0; i < phys.Length; i++)
        {
            ulong off = phys[i] & g;
            uint len = (uint)lengths[i];
            if (curLen != 0 && off == 0 && (dma & segMask) != 0 && unchecked(maxLen - curLen) >= len)
            {
                curLen += len;
            }
            else
            {
                if (i > 0) cur++;
                curLen = len;
                count++;
                output[cur] = new IommuMapping(dma + off, false, 0);
            }
            outLengths[cur] = curLen;
            dma += padded[i];
            if (len + off < padded[i]) curLen = 0;
        }
        return count;
    }

    /// <summary>
    /// iommu_dma_unmap_sg: per entry for the bounce path; otherwise the one range from the first
    /// segment's start to the last segment's end.
    /// </summary>
    public void UnmapSg(DeviceModel m, ReadOnlySpan<IommuMapping> segments, ReadOnlySpan<ulong> lengths, DmaDirection dir, DmaAttrs attrs,
        int cpu, long ns)
    {
        if (segments.IsEmpty) return;
        if (m.Untrusted)
        {
            for (int i = 0; i < segments.Length; i++) UnmapPage(m, segments[i], lengths[i], dir, attrs, cpu, ns);
            return;
        }
        ulong start = segments[0].Dma, end = segments[^1].Dma + lengths[segments.Length - 1];
        At(m, ns, out _).Unmap(start, end - start, cpu);
    }

    /// <summary>iommu_dma_alloc: pages, then one IOVA range of the page-aligned size within the coherent mask.</summary>
    public ulong Alloc(DeviceModel m, ulong size, int cpu, long ns, ulong witness = 0)
    {
        var domain = At(m, ns, out var dev);
        ulong page = platform.Kernel.PageSize - 1;
        ulong len = domain.IovaAlign((size + page) & ~page);
        ulong iova = domain.AllocIova(len, m.CoherentMask, dev, cpu, Witness(domain, witness));
        if (iova == 0) return DmaAddress.MappingError;
        domain.PageTable?.Map(domain, iova, IIommuPageTable.UnknownPaddr, len); // iommu_dma_alloc_remap: pages the trace does not give
        return iova;
    }

    /// <summary>iommu_dma_free: __iommu_dma_unmap of the allocation.</summary>
    public void Free(DeviceModel m, ulong dma, ulong size, int cpu, long ns)
    {
        ulong page = platform.Kernel.PageSize - 1;
        At(m, ns, out _).Unmap(dma, (size + page) & ~page, cpu);
    }

    /// <summary>Whether the device fell back to addresses above 4 GiB (dev_notice "Using %d-bit DMA addresses").</summary>
    public long DacFallbacks => _devices.Values.Sum(d => d.Dev.Dac);
}
