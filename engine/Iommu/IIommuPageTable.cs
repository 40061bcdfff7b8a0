namespace DmaReplay.Engine.Iommu;

/// <summary>
/// Receives the IO page-table updates dma-iommu makes, at the points the kernel makes them:
/// iommu_map (from __iommu_dma_map, iommu_map_sg, iommu_dma_alloc_remap), iommu_unmap (from
/// __iommu_dma_unmap), and the IOTLB invalidations that follow (iommu_iotlb_sync in strict mode,
/// the flush queue's flush_iotlb_all in lazy mode). The page-table witness check and the hardware
/// model are both observers.
/// </summary>
public interface IIommuPageTable
{
    /// <summary>The paddr of an update whose physical pages the trace does not give (coherent allocations, merged sg segments).</summary>
    public const ulong UnknownPaddr = ulong.MaxValue;

    /// <summary>iommu_map: <paramref name="size"/> bytes at <paramref name="iova"/> now translate to <paramref name="paddr"/> (granule aligned).</summary>
    void Map(IommuDmaDomain domain, ulong iova, ulong paddr, ulong size);

    /// <summary>iommu_unmap: the range no longer translates; in strict mode the IOTLB sync follows at once.</summary>
    void Unmap(IommuDmaDomain domain, ulong iova, ulong size, bool strict);

    /// <summary>fq_flush_iotlb → iommu_flush_iotlb_all: a lazy domain's whole IOTLB is invalidated.</summary>
    void FlushAll(IommuDmaDomain domain);
}
