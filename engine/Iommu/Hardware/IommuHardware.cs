namespace DmaReplay.Engine.Iommu.Hardware;

/// <summary>
/// The hardware behind dma-iommu: one IOTLB shared by the IOMMU's domains and one IO page table
/// per domain, fed the page-table updates dma-iommu makes (<see cref="IIommuPageTable"/>).
/// Device access model (<see cref="DeviceAccess"/>): by default every page of a mapping is accessed
/// once while it is mapped, at map time; optionally again before the unmap and at each sync (an
/// IOTLB lookup per 4 KiB page; a miss walks the page table, every level for a 4 KiB leaf, one
/// fewer for a 2 MiB one, no paging-structure caches). Invalidation: strict domains invalidate each
/// unmapped page after iommu_unmap (iommu_iotlb_sync → page-selective invalidation); lazy
/// domains invalidate the whole domain at each flush-queue flush (fq_flush_iotlb →
/// iommu_flush_iotlb_all → domain-selective invalidation).
/// </summary>
public sealed class IommuHardware(IotlbGeometry geometry, DeviceAccess access = DeviceAccess.Map)
{
    private readonly Iotlb _iotlb = new(geometry);
    private int _nextDid = 1;

    public IotlbGeometry Geometry => geometry;
    public DeviceAccess DeviceAccess => access;
    public Iotlb Iotlb => _iotlb;

    /// <summary>The model of one domain (its DID, page table and counters).</summary>
    public Domain Attach(int levels = 4) => new(this, _nextDid++, levels);

    public sealed class Domain(IommuHardware hw, int did, int levels) : IIommuPageTable
    {
        public int Did => did;
        public IoPageTable PageTable { get; } = new(levels);
        public long Lookups { get; private set; }
        public long Hits { get; private set; }
        public long Misses => Lookups - Hits;
        public long PageWalks { get; private set; }
        public long WalkLevelsRead { get; private set; }
        public long Invalidations { get; private set; }
        public long InvalidatedPages { get; private set; }

        public void Map(IommuDmaDomain domain, ulong iova, ulong paddr, ulong size) => Map(iova, paddr, size);
        public void Unmap(IommuDmaDomain domain, ulong iova, ulong size, bool strict) => Unmap(iova, size, strict);
        public void FlushAll(IommuDmaDomain domain) => FlushAll();

        public void Map(ulong iova, ulong paddr, ulong size)
        {
            PageTable.Map(iova, paddr, size);
            Access(iova, size);
        }

        /// <summary>The device touches every page of [iova, iova + size).</summary>
        public void Access(ulong iova, ulong size)
        {
            for (ulong a = iova & ~((1UL << IoPageTable.PageShift) - 1); a < iova + size; a += 1UL << IoPageTable.PageShift) Access(a);
        }

        /// <summary>A dma_sync_* of the range: a device access when the model has one there.</summary>
        public void Synced(ulong iova, ulong size)
        {
            if (hw.DeviceAccess == DeviceAccess.MapSyncUnmap) Access(iova, size);
        }

        /// <summary>One device access to the page at <paramref name="iova"/>: IOTLB lookup, page walk on a miss.</summary>
        public bool Access(ulong iova)
        {
            bool large = PageTable.IsLarge(iova);
            Lookups++;
            if (hw._iotlb.Access(did, iova >> (large ? IoPageTable.LargeShift : IoPageTable.PageShift), large))
            {
                Hits++;
                return true;
            }
            PageWalks++;
            WalkLevelsRead += PageTable.WalkLevels(iova);
            return false;
        }

        public void Unmap(ulong iova, ulong size, bool strict)
        {
            if (hw.DeviceAccess != DeviceAccess.Map) Access(iova, size); // the device's last touch before the driver unmaps
            if (strict)
            {
                // iommu_iotlb_sync after iommu_unmap: one page-selective invalidation of the range.
                Invalidations++;
                for (ulong a = iova; a < iova + size; a += 1UL << IoPageTable.PageShift)
                {
                    bool large = PageTable.IsLarge(a);
                    hw._iotlb.InvalidatePage(did, a >> (large ? IoPageTable.LargeShift : IoPageTable.PageShift), large);
                    InvalidatedPages++;
                }
            }
            PageTable.Unmap(iova, size);
        }

        /// <summary>iommu_flush_iotlb_all: a domain-selective invalidation; the pages are the entries it dropped.</summary>
        public void FlushAll()
        {
            Invalidations++;
            InvalidatedPages += hw._iotlb.InvalidateDomain(did);
        }
    }
}

/// <summary>Two observers of the same updates (the witness check and the hardware model).</summary>
public sealed class PageTableObservers(IIommuPageTable first, IIommuPageTable second) : IIommuPageTable
{
    public void Map(IommuDmaDomain domain, ulong iova, ulong paddr, ulong size)
    {
        first.Map(domain, iova, paddr, size);
        second.Map(domain, iova, paddr, size);
    }

    public void Unmap(IommuDmaDomain domain, ulong iova, ulong size, bool strict)
    {
        first.Unmap(domain, iova, size, strict);
        second.Unmap(domain, iova, size, strict);
    }

    public void FlushAll(IommuDmaDomain domain)
    {
        first.FlushAll(domain);
        second.FlushAll(domain);
    }
}
