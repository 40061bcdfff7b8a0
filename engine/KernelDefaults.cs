namespace DmaReplay.Engine;

/// <summary>
/// Every kernel constant DmaReplay models, in one place, with the file it comes from (Linux
/// 6.12; ../shared/kernel-facts.md cites the copies read). A kernel-version profile overrides
/// them by constructing another instance.
/// </summary>
public sealed record KernelDefaults
{
    public static KernelDefaults Linux612 { get; } = new();

    /// <summary>6.0–6.8: the SWIOTLB search before the 6.9 alignment rework (no pad slots).</summary>
    public static KernelDefaults Linux66 { get; } = new() { Version = "6.6", SwiotlbPadSlots = false };

    /// <summary>The kernel these values describe ("6.12").</summary>
    public string Version { get; init; } = "6.12";

    /// <summary>
    /// v6.9+ swiotlb_search_pool_area/swiotlb_tbl_map_single: alloc_align_mask and min_align_mask
    /// kept apart, pad slots before an aligned allocation, page alignment only without other rules.
    /// Before: one iotlb_align_mask, checked only when orig_addr != 0, no pad slots.
    /// </summary>
    public bool SwiotlbPadSlots { get; init; } = true;

    /// <summary>The profile for a kernel version ("6.6", "6.12", …).</summary>
    public static KernelDefaults ForVersion(string version)
    {
        var parts = version.Split('.');
        if (parts.Length < 2 || !int.TryParse(parts[0], out int major) || !int.TryParse(parts[1], out int minor))
            throw new FormatException($"kernel version '{version}' is not major.minor");
        if (major < 6) throw new FormatException($"kernel {version}: the dma trace events exist from 6.12 on; profiles go back to 6.0");
        return (major > 6 || minor >= 9 ? Linux612 : Linux66) with { Version = version };
    }

    // include/linux/swiotlb.h
    /// <summary>IO_TLB_SHIFT: a slot is 2 KiB.</summary>
    public int IoTlbShift { get; init; } = 11;
    /// <summary>IO_TLB_SEGSIZE: free-run bookkeeping never spans 128 slots; no mapping exceeds it.</summary>
    public int IoTlbSegSize { get; init; } = 128;
    /// <summary>IO_TLB_DEFAULT_SIZE (64 MiB) in slots.</summary>
    public int IoTlbDefaultSlabs { get; init; } = 32768;
    /// <summary>IO_TLB_MIN_SLABS (1 MiB).</summary>
    public int IoTlbMinSlabs { get; init; } = 512;

    // arch/x86 (PAGE_SHIFT) and the generic default
    public int PageShift { get; init; } = 12;
    /// <summary>L1_CACHE_BYTES on x86-64 and most arm64 parts.</summary>
    public int L1CacheBytes { get; init; } = 64;

    // arch/arm64/include/asm/cache.h and mm/slab_common.c (6.5+: kmalloc() minimum alignment
    // lowered to ARCH_KMALLOC_MINALIGN when DMA_BOUNCE_UNALIGNED_KMALLOC can bounce instead)
    /// <summary>ARCH_DMA_MINALIGN of arm64 (the largest CWG of any part): dma_kmalloc_size_aligned's 2 * ARCH_DMA_MINALIGN bound.</summary>
    public int Arm64ArchDmaMinalign { get; init; } = 128;
    /// <summary>ARCH_KMALLOC_MINALIGN of arm64: the kmalloc caches' alignment once SWIOTLB can bounce unaligned buffers.</summary>
    public int ArchKmallocMinalign { get; init; } = 8;
    /// <summary>KMALLOC_SHIFT_HIGH (SLUB): PAGE_SHIFT + 1, so kmalloc caches go up to two pages; above, whole pages.</summary>
    public int KmallocShiftHigh => PageShift + 1;

    // kernel/dma/debug.c
    /// <summary>PREALLOC_DMA_DEBUG_ENTRIES.</summary>
    public int DmaDebugEntries { get; init; } = 65536;
    /// <summary>ACTIVE_CACHELINE_MAX_OVERLAP.</summary>
    public int ActiveCachelineMaxOverlap { get; init; } = 7;

    // drivers/pci/probe.c (pci_device_add) and kernel/dma/mapping.c defaults
    /// <summary>dma_get_max_seg_size() of a PCI device that did not set one.</summary>
    public ulong PciMaxSegmentSize { get; init; } = 65536;
    /// <summary>dma_get_seg_boundary() of a PCI device that did not set one.</summary>
    public ulong PciSegmentBoundary { get; init; } = 0xffff_ffff;

    // drivers/iommu/iova.c (v6.7+: the depot is a list trimmed by delayed work; before it was a
    // fixed array of MAX_GLOBAL_MAGS = 32 magazines)
    /// <summary>IOVA_RANGE_CACHE_MAX_SIZE: one rcache per order 0..5 (1..32 granules); bigger ranges always go to the tree.</summary>
    public int IovaRangeCacheMaxSize { get; init; } = 6;
    /// <summary>IOVA_MAG_SIZE: pfns per magazine (127 since v6.7, so a magazine is 1 KiB; 128 before).</summary>
    public int IovaMagSize { get; init; } = 127;
    /// <summary>IOVA_DEPOT_DELAY: the depot trimming work runs this long after a magazine is pushed, then every period while the depot holds more magazines than online CPUs.</summary>
    public int IovaDepotDelayMs { get; init; } = 100;

    // drivers/iommu/dma-iommu.c
    /// <summary>IOVA_DEFAULT_FQ_SIZE: entries of each per-CPU flush queue ring (one is kept empty: 255 usable).</summary>
    public int IovaDefaultFqSize { get; init; } = 256;
    /// <summary>IOVA_DEFAULT_FQ_TIMEOUT in ms: the flush timer armed by the first queued IOVA.</summary>
    public int IovaDefaultFqTimeoutMs { get; init; } = 10;
    /// <summary>IOVA_SINGLE_FQ_SIZE: the one global queue of IOMMUs that set shadow_on_flush (s390, virtio-iommu; not VT-d).</summary>
    public int IovaSingleFqSize { get; init; } = 32768;
    /// <summary>IOVA_SINGLE_FQ_TIMEOUT in ms.</summary>
    public int IovaSingleFqTimeoutMs { get; init; } = 1000;

    // Debian 6.12 config (CONFIG_HZ_250): the timers above are rounded up to jiffies of 4 ms.
    public int Hz { get; init; } = 250;

    public int IoTlbSize => 1 << IoTlbShift;
    /// <summary>msecs_to_jiffies: rounded up.</summary>
    public long MsecsToJiffies(int ms) => ((long)ms * Hz + 999) / 1000;
    public ulong PageSize => 1UL << PageShift;
}
