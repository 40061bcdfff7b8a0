using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Direct;

/// <summary>Why dma-direct bounces a buffer (the first reason dma_direct_map_page tests that holds).</summary>
public enum BounceReason : byte
{
    /// <summary>Not bounced.</summary>
    None,
    /// <summary>is_swiotlb_force_bounce: swiotlb=force or a memory-encryption guest.</summary>
    Force,
    /// <summary>!dma_capable: the buffer lies beyond the device's mask or bus limit.</summary>
    Mask,
    /// <summary>dma_kmalloc_needs_bounce: a kmalloc size that is not cache-line aligned, on a non-coherent device.</summary>
    Kmalloc,
}

public static partial class DmaDirect
{
    /// <summary>
    /// Which of dma_direct_map_page's bounce conditions holds for this buffer, in the kernel's
    /// order (kernel/dma/direct.h, 6.12): force bounce, then !dma_capable, then
    /// dma_kmalloc_needs_bounce. Independent of whether SWIOTLB is there to bounce it.
    /// </summary>
    public static BounceReason ReasonToBounce(DeviceModel dev, PlatformModel platform, ulong phys, ulong size, DmaDirection dir)
    {
        if (platform.Swiotlb.Active && platform.Swiotlb.Force) return BounceReason.Force;
        if (!Capable(dev, PhysToDma(dev, platform, phys), size)) return BounceReason.Mask;
        return KmallocNeedsBounce(dev, platform, size, dir) ? BounceReason.Kmalloc : BounceReason.None;
    }

    /// <summary>
    /// dma_kmalloc_needs_bounce (include/linux/dma-map-ops.h, 6.12) = !dma_kmalloc_safe(dev, dir)
    /// &amp;&amp; !dma_kmalloc_size_aligned(size). Safe: CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC off, a
    /// coherent device, or DMA_TO_DEVICE. Aligned: size &gt;= 2 * ARCH_DMA_MINALIGN, or
    /// kmalloc_size_roundup(size) a multiple of dma_get_cache_alignment() (arm64: cache_line_size(),
    /// the platform's dma.cache_alignment). Only the size counts, never the address: the trace
    /// cannot tell a kmalloc buffer from a page, and neither can the kernel.
    /// </summary>
    public static bool KmallocNeedsBounce(DeviceModel dev, PlatformModel platform, ulong size, DmaDirection dir)
    {
        if (!platform.BounceUnalignedKmalloc || dev.Coherent || dir == DmaDirection.ToDevice) return false;
        if (size >= 2 * (ulong)platform.Kernel.Arm64ArchDmaMinalign) return false;
        ulong align = (ulong)Math.Max(1, platform.DmaCacheAlignment);
        return KmallocSizeRoundup(size, KmallocMinalign(platform), platform.Kernel) % align != 0;
    }

    /// <summary>
    /// __kmalloc_minalign (mm/slab_common.c, 6.5+): ARCH_KMALLOC_MINALIGN when
    /// DMA_BOUNCE_UNALIGNED_KMALLOC is on and SWIOTLB is allocated (small buffers can bounce), else
    /// dma_get_cache_alignment(); never below ARCH_SLAB_MINALIGN (8).
    /// </summary>
    public static ulong KmallocMinalign(PlatformModel platform)
    {
        int minalign = platform.BounceUnalignedKmalloc && platform.Swiotlb.Active ? platform.Kernel.ArchKmallocMinalign : platform.DmaCacheAlignment;
        return (ulong)Math.Max(minalign, 8);
    }

    /// <summary>
    /// kmalloc_size_roundup (mm/slab_common.c) with the generic kmalloc caches 8 … 8192 plus 96 and
    /// 192: 0 stays 0; a cache's object size, where new_kmalloc_cache aliases a cache whose size is
    /// not a multiple of <paramref name="minalign"/> to the cache of ALIGN(size, minalign); above
    /// the largest cache, whole pages (PAGE_SIZE &lt;&lt; get_order(size)).
    /// </summary>
    public static ulong KmallocSizeRoundup(ulong size, ulong minalign, KernelDefaults kernel)
    {
        if (size == 0) return 0;
        if (size > 1UL << kernel.KmallocShiftHigh)
            return System.Numerics.BitOperations.RoundUpToPowerOf2((size + kernel.PageSize - 1) & ~(kernel.PageSize - 1));
        ulong natural = KmallocCacheSize(size);
        return minalign > 8 ? KmallocCacheSize((natural + minalign - 1) & ~(minalign - 1)) : natural;
    }

    /// <summary>The size of the kmalloc cache __kmalloc_index picks (KMALLOC_MIN_SIZE 8: the 96 and 192 caches exist).</summary>
    private static ulong KmallocCacheSize(ulong size)
    {
        if (size <= 8) return 8;
        if (size is > 64 and <= 96) return 96;
        if (size is > 128 and <= 192) return 192;
        return System.Numerics.BitOperations.RoundUpToPowerOf2(size);
    }
}
