namespace DmaReplay.Engine.Cost;

/// <summary>
/// Cost models with their sources. Measured figures come from dma_map_benchmark results posted on
/// the kernel lists (kernel/dma/map_benchmark.c, tools/testing/selftests/dma/dma_map_benchmark.c);
/// the tool prints microseconds with one decimal (avg_map_100ns / 10.0), so a figure is known to
/// ±50 ns. How a measured call splits into the terms, and every figure no posting gives, is an
/// assumption and says so. Replace them with your own: <c>dmareplay calibrate</c>.
/// </summary>
public static class CostPresets
{
    public const string Default = "x86-vtd";

    public static IReadOnlyDictionary<string, Func<CostModel>> All { get; } = new Dictionary<string, Func<CostModel>>(StringComparer.Ordinal)
    {
        ["x86-vtd"] = X86Vtd,
        ["arm64-smmuv3"] = Arm64Smmuv3,
        ["direct-swiotlb"] = DirectSwiotlb,
    };

    public static string Names => string.Join(", ", All.Keys);

    /// <summary>
    /// An arm64 server with an SMMUv3 in strict mode (the arm64 default) and no range invalidation.
    /// Anchored on Mostafa Saleh's dma_map_benchmark runs on Arm Morello (Arm64 + SMMUv3, 1 thread,
    /// "[PATCH v2..v6] iommu: Add page_ext for IOMMU_DEBUG_PAGEALLOC", linux-iommu, 2025–2026,
    /// CONFIG_IOMMU_DEBUG_PAGEALLOC=n column): 4 KiB map 0.1 µs / unmap 0.6 µs; 1 MiB (256 pages)
    /// map 0.8 µs / unmap 21.2 µs.
    /// </summary>
    public static CostModel Arm64Smmuv3() => new()
    {
        Name = "arm64-smmuv3",
        Sources =
        [
            "Mostafa Saleh, [PATCH v2-v6] iommu: IOMMU_DEBUG_PAGEALLOC, linux-iommu 2025-2026: dma_map_benchmark on Arm Morello (SMMUv3), 1 thread: 4K map 0.1/unmap 0.6 us, 1M map 0.8/unmap 21.2 us",
            "Qinxin Xia, [PATCH v2 4/4] dma mapping benchmark: add support for dma_map_sg, LKML 2025-05-06: 8 threads, 8 pages, FROM_DEVICE: single map 1.0 us, sg map 1.4 us",
            "Barry Song, dma-mapping: add benchmark support for streaming DMA APIs (v2), 2020: 16 threads: map 1.1 us (sd 1.9), unmap 0.5 us (sd 0.8); cross-check only (contention)",
            "every other figure: assumption of this tool (see README, Cost model)",
        ],
        DmaDirectMapNs = 40,             // assumption: no posting measures the direct path on arm64
        DmaDirectUnmapNs = 40,           // assumption
        IommuDmaMapNs = 77,              // Saleh 4K map 100 ns = 77 + rcache hit 20 + 1 leaf 2.75
        IommuDmaUnmapNs = 119.2,         // Saleh 4K unmap 600 ns = 119.2 + inv 400 + 1 page (5 + 75.8); the split is an assumption
        SgEntryNs = 50,                  // Xia: 8-entry sg map 1.4 us vs 8-page single map 1.0 us → 0.4 us / 8 entries
        SyncNs = 40,                     // assumption
        AllocNs = 2000,                  // assumption: page allocation dominates
        FreeNs = 1000,                   // assumption
        IovaRcacheHitNs = 20,            // assumption
        IovaRcacheMissNs = 40,           // assumption; Saleh's 1M maps (256 pages, above the rcache's 32) leave ≈40 ns for the tree
        PteMapNs = 2.75,                 // Saleh: (800 − 100) ns / 255 more pages
        PteUnmapNs = 5,                  // assumption (split of the per-page unmap cost)
        IotlbInvNs = 400,                // assumption (split): CMD_SYNC issued and waited for
        IotlbInvPageNs = 75.8,           // Saleh: (21,200 − 600) ns / 255 more pages = 80.8 ns/page, less the 5 ns PTE clear: one CMD_TLBI_NH_VA per page
        IotlbWalkLevelNs = 90,           // assumption: one DRAM access per level
        SwiotlbSlotSearchStepNs = 2,     // assumption
        SwiotlbCopyBytesPerNs = 8,       // assumption: 8 GB/s memcpy
        CacheLineNs = 2,                 // assumption: one dc civac/cvac per 64-byte line
    };

    /// <summary>
    /// An x86 server with VT-d in lazy mode (the x86 default). No dma_map_benchmark posting for VT-d
    /// was found: every figure is an assumption of the same order as the SMMUv3 measurements, and
    /// VT-d invalidates a power-of-two range with one page-selective descriptor (address mask), so
    /// the pages an invalidation covers add nothing.
    /// </summary>
    public static CostModel X86Vtd() => new()
    {
        Name = "x86-vtd",
        Sources =
        [
            "assumption of this tool: no dma_map_benchmark posting for VT-d was found; same order as the SMMUv3 measurements (arm64-smmuv3)",
            "VT-d page-selective invalidation takes an address mask (one descriptor per power-of-two range): iotlb_inv_page_ns = 0",
        ],
        DmaDirectMapNs = 25,
        DmaDirectUnmapNs = 25,
        IommuDmaMapNs = 100,
        IommuDmaUnmapNs = 100,
        SgEntryNs = 30,
        SyncNs = 20,
        AllocNs = 1500,
        FreeNs = 800,
        IovaRcacheHitNs = 20,
        IovaRcacheMissNs = 150,          // the rbtree under iova_rbtree_lock (the bottleneck the per-CPU caches were added for)
        PteMapNs = 3,
        PteUnmapNs = 3,
        IotlbInvNs = 1000,               // qi_submit_sync: invalidation descriptor plus wait descriptor
        IotlbInvPageNs = 0,
        IotlbWalkLevelNs = 80,
        SwiotlbSlotSearchStepNs = 2,
        SwiotlbCopyBytesPerNs = 10,
        CacheLineNs = 0,                 // x86 DMA is cache coherent: no maintenance
    };

    /// <summary>A machine without an IOMMU: dma-direct and SWIOTLB only; the IOMMU terms are 0. Every figure is an assumption.</summary>
    public static CostModel DirectSwiotlb() => new()
    {
        Name = "direct-swiotlb",
        Sources = ["assumption of this tool: dma-direct and SWIOTLB only, IOMMU terms 0 (use x86-vtd or arm64-smmuv3 for translated devices)"],
        DmaDirectMapNs = 25,
        DmaDirectUnmapNs = 25,
        SyncNs = 20,
        AllocNs = 1500,
        FreeNs = 800,
        SwiotlbSlotSearchStepNs = 2,
        SwiotlbCopyBytesPerNs = 10,
    };

    /// <summary>A preset by name, or a cost file (<see cref="CostModelJson"/>).</summary>
    public static CostModel Load(string presetOrFile)
    {
        if (All.TryGetValue(presetOrFile, out var preset)) return preset();
        if (File.Exists(presetOrFile)) return CostModelJson.Read(presetOrFile);
        throw new FormatException($"--cost: '{presetOrFile}' is neither a preset ({Names}) nor a file");
    }
}
