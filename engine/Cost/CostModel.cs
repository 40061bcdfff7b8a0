namespace DmaReplay.Engine.Cost;

/// <summary>
/// What each step of the DMA mapping stack costs, in nanoseconds per operation or per unit (copy
/// bandwidth in bytes per ns). The replay counts the steps the emulated stack took for every DMA
/// API call (<see cref="CostCounts"/>); the estimate of a call is the sum of count × cost. CPU
/// terms are time the calling CPU spends; <see cref="IotlbWalkLevelNs"/> is device-side latency
/// (an IOTLB miss makes the DMA wait for the page walk) and is reported apart.
/// </summary>
/// <remarks>
/// Each preset's numbers cite their source next to them (<see cref="CostPresets"/>, README "Cost
/// model"); where no measurement was found the number is marked as an assumption. A user's own
/// measurements replace them with <c>dmareplay calibrate</c>.
/// </remarks>
public sealed record CostModel
{
    public string Name { get; init; } = "custom";
    /// <summary>Where the numbers come from (one line per source), written to the reports with the model.</summary>
    public IReadOnlyList<string> Sources { get; init; } = [];

    /// <summary>dma_map_page_attrs → dma_direct_map_page: the whole call on the direct path (per sg entry in dma_direct_map_sg).</summary>
    public double DmaDirectMapNs { get; init; }
    /// <summary>dma_unmap_page_attrs → dma_direct_unmap_page (per sg entry in dma_direct_unmap_sg).</summary>
    public double DmaDirectUnmapNs { get; init; }
    /// <summary>iommu_dma_map_page / iommu_dma_map_sg: the call without the counted terms (IOVA allocation, PTE writes).</summary>
    public double IommuDmaMapNs { get; init; }
    /// <summary>iommu_dma_unmap_page / iommu_dma_unmap_sg: the call without the counted terms (PTE clears, invalidations).</summary>
    public double IommuDmaUnmapNs { get; init; }
    /// <summary>Per scatterlist entry of an iommu_dma_map_sg / unmap_sg (layout and __finalise_sg loops).</summary>
    public double SgEntryNs { get; init; }
    /// <summary>dma_sync_single_* / dma_sync_sg_* that reached its tracepoint (the device needs syncing), without copies and cache maintenance.</summary>
    public double SyncNs { get; init; }
    /// <summary>dma_alloc_attrs: page allocation and mapping of a coherent buffer, without the counted IOMMU terms.</summary>
    public double AllocNs { get; init; }
    /// <summary>dma_free_attrs, without the counted IOMMU terms.</summary>
    public double FreeNs { get; init; }
    /// <summary>alloc_iova_fast answered by the CPU's range cache (iova_rcache_get).</summary>
    public double IovaRcacheHitNs { get; init; }
    /// <summary>alloc_iova_fast falling back to the rbtree (alloc_iova under iova_rbtree_lock).</summary>
    public double IovaRcacheMissNs { get; init; }
    /// <summary>iommu_map: per leaf entry written in the IO page table (a 4 KiB page or a 2 MiB block).</summary>
    public double PteMapNs { get; init; }
    /// <summary>iommu_unmap: per leaf entry cleared.</summary>
    public double PteUnmapNs { get; init; }
    /// <summary>One IOTLB invalidation, issued and waited for: iommu_iotlb_sync in strict mode, flush_iotlb_all at a flush-queue flush.</summary>
    public double IotlbInvNs { get; init; }
    /// <summary>Per 4 KiB page an invalidation covers (SMMUv3 without range invalidation sends one TLBI per page).</summary>
    public double IotlbInvPageNs { get; init; }
    /// <summary>Device side: per page-table level read by a page walk after an IOTLB miss.</summary>
    public double IotlbWalkLevelNs { get; init; }
    /// <summary>swiotlb_search_pool_area: per slot examined.</summary>
    public double SwiotlbSlotSearchStepNs { get; init; }
    /// <summary>swiotlb_bounce: memcpy bandwidth in bytes per ns (GB/s).</summary>
    public double SwiotlbCopyBytesPerNs { get; init; } = 1;
    /// <summary>arch_sync_dma_for_device / _for_cpu: per cache line cleaned or invalidated (non-coherent devices).</summary>
    public double CacheLineNs { get; init; }
}
