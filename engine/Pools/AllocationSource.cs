using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Pools;

/// <summary>Where dma_alloc_attrs got an allocation's memory.</summary>
public enum AllocSource : byte
{
    DevCoherent, GlobalCoherent, AtomicPoolDma, AtomicPoolDma32, AtomicPoolKernel, Cma, PagesDma, PagesDma32, PagesNormal, Iommu, Unsupported,
}

/// <summary>The decision of kernel/dma/mapping.c dma_alloc_attrs and kernel/dma/direct.c dma_direct_alloc (6.12).</summary>
public static class AllocationSources
{
    public static string Name(this AllocSource s) => s switch
    {
        AllocSource.DevCoherent => "dev-coherent",
        AllocSource.GlobalCoherent => "global-coherent",
        AllocSource.AtomicPoolDma => "atomic-pool-dma",
        AllocSource.AtomicPoolDma32 => "atomic-pool-dma32",
        AllocSource.AtomicPoolKernel => "atomic-pool-kernel",
        AllocSource.Cma => "cma",
        AllocSource.PagesDma => "pages-dma",
        AllocSource.PagesDma32 => "pages-dma32",
        AllocSource.PagesNormal => "pages-normal",
        AllocSource.Iommu => "iommu",
        _ => "unsupported",
    };

    public static AllocSource Of(AtomicZone z) => z switch
    {
        AtomicZone.Dma => AllocSource.AtomicPoolDma,
        AtomicZone.Dma32 => AllocSource.AtomicPoolDma32,
        _ => AllocSource.AtomicPoolKernel,
    };

    /// <summary>
    /// dma_direct_optimal_gfp_mask: the zone the coherent mask (with the bus limit, as a physical
    /// limit) needs: GFP_DMA up to zone_dma_limit, GFP_DMA32 up to 4 GiB − 1, else none.
    /// </summary>
    public static GfpFlags OptimalZone(DeviceModel dev, PlatformModel p)
    {
        ulong limit = dev.BusDmaLimit == 0 ? dev.CoherentMask : Math.Min(dev.CoherentMask, dev.BusDmaLimit);
        if (limit <= p.Allocation.ZoneDmaLimit) return GfpFlags.Dma;
        if (limit <= p.Kernel.ZoneDma32Limit) return GfpFlags.Dma32;
        return GfpFlags.None;
    }

    /// <summary>
    /// The path dma_alloc_attrs takes, in the kernel's order: the device's own coherent memory
    /// (always, success or not); dma-iommu (non-blocking on a non-coherent device: the atomic pools,
    /// else remapped pages); dma-direct: a non-coherent device with a global pool takes it, without
    /// remap (or set_uncached) it fails; remapping or decryption that cannot block takes the atomic
    /// pools (null here: the pool decides the zone); else CMA when it may block and the allocation
    /// is over a page with a CMA area, else the buddy allocator in the mask's zone.
    /// </summary>
    public static AllocSource? Decide(DeviceModel dev, PlatformModel p, ulong size, GfpFlags gfp, bool translated)
    {
        if (dev.CoherentMem is not null) return AllocSource.DevCoherent;
        bool blocking = !gfp.IsNonBlocking();
        if (translated) return !dev.Coherent && !blocking ? null : AllocSource.Iommu;
        bool remap = false;
        if (!dev.Coherent)
        {
            if (p.Allocation.GlobalCoherent is not null) return AllocSource.GlobalCoherent;
            remap = p.Allocation.DirectRemap;
            if (!remap) return AllocSource.Unsupported; // "coherent DMA allocations not supported on this platform."
        }
        if ((remap || p.Encrypted) && !blocking) return null;
        if (blocking && p.Allocation.CmaBytes > 0 && size > p.Kernel.PageSize) return AllocSource.Cma; // dma_alloc_contiguous
        return OptimalZone(dev, p) switch
        {
            GfpFlags.Dma => AllocSource.PagesDma,
            GfpFlags.Dma32 => AllocSource.PagesDma32,
            _ => AllocSource.PagesNormal,
        };
    }
}
