using System.Runtime.CompilerServices;

namespace DmaReplay.Parsers.Model;

/// <summary>
/// Every event of the trace systems DmaReplay understands: <c>dma</c> (6.12, 6.13–6.17 and the
/// newest <c>dma_map_phys</c> form), <c>swiotlb</c>, <c>iommu</c> and <c>dma_fence</c>, plus the
/// <c>dmareplay</c> events synthetic traces use for what no tracepoint shows (dma_pool, unbind).
/// The printed name of each is in <see cref="DmaEventKinds"/>.
/// </summary>
public enum DmaEventKind : byte
{
    // dma (include/trace/events/dma.h)
    DmaMapPage,
    DmaUnmapPage,
    DmaMapResource,
    DmaUnmapResource,
    DmaMapPhys,
    DmaUnmapPhys,
    DmaAlloc,
    DmaFree,
    DmaAllocPages,
    DmaFreePages,
    DmaAllocSgt,
    DmaAllocSgtErr,
    DmaFreeSgt,
    DmaMapSg,
    DmaMapSgErr,
    DmaUnmapSg,
    DmaSyncSingleForCpu,
    DmaSyncSingleForDevice,
    DmaSyncSgForCpu,
    DmaSyncSgForDevice,

    // swiotlb (include/trace/events/swiotlb.h)
    SwiotlbBounced,

    // iommu (include/trace/events/iommu.h)
    IommuMap,
    IommuUnmap,
    IommuIoPageFault,
    IommuAddDeviceToGroup,
    IommuRemoveDeviceFromGroup,
    IommuAttachDeviceToDomain,
    IommuDetachDeviceFromDomain,

    // dma_fence (include/trace/events/dma_fence.h)
    DmaFenceEmit,
    DmaFenceInit,
    DmaFenceDestroy,
    DmaFenceEnableSignal,
    DmaFenceSignaled,
    DmaFenceWaitStart,
    DmaFenceWaitEnd,

    // dmareplay: operations no tracepoint shows, written by synthetic traces (docs/synthetic-format.md)
    DmaPoolCreate,
    DmaPoolDestroy,
    DmaPoolAlloc,
    DmaPoolFree,
    DeviceUnbind,
}

/// <summary>The trace system ("dma", "iommu", …) an event belongs to.</summary>
public enum TraceSystem : byte { Dma, Swiotlb, Iommu, DmaFence, DmaReplay }

/// <summary>Static facts about each <see cref="DmaEventKind"/>: printed name, system, role.</summary>
public static class DmaEventKinds
{
    public const int Count = (int)DmaEventKind.DeviceUnbind + 1;

    private static readonly string[] Names =
    [
        "dma_map_page", "dma_unmap_page", "dma_map_resource", "dma_unmap_resource",
        "dma_map_phys", "dma_unmap_phys", "dma_alloc", "dma_free", "dma_alloc_pages",
        "dma_free_pages", "dma_alloc_sgt", "dma_alloc_sgt_err", "dma_free_sgt", "dma_map_sg",
        "dma_map_sg_err", "dma_unmap_sg", "dma_sync_single_for_cpu", "dma_sync_single_for_device",
        "dma_sync_sg_for_cpu", "dma_sync_sg_for_device",
        "swiotlb_bounced",
        "map", "unmap", "io_page_fault", "add_device_to_group", "remove_device_from_group",
        "attach_device_to_domain", "detach_device_from_domain",
        "dma_fence_emit", "dma_fence_init", "dma_fence_destroy", "dma_fence_enable_signal",
        "dma_fence_signaled", "dma_fence_wait_start", "dma_fence_wait_end",
        "dma_pool_create", "dma_pool_destroy", "dma_pool_alloc", "dma_pool_free", "device_unbind",
    ];

    /// <summary>The event name exactly as the kernel prints it (without the system).</summary>
    public static string Name(this DmaEventKind kind) => Names[(int)kind];

    public static TraceSystem System(this DmaEventKind kind) => kind switch
    {
        <= DmaEventKind.DmaSyncSgForDevice => TraceSystem.Dma,
        DmaEventKind.SwiotlbBounced => TraceSystem.Swiotlb,
        <= DmaEventKind.IommuDetachDeviceFromDomain => TraceSystem.Iommu,
        <= DmaEventKind.DmaFenceWaitEnd => TraceSystem.DmaFence,
        _ => TraceSystem.DmaReplay,
    };

    /// <summary>Streaming map or allocation: creates a mapping when it succeeds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // per event in the summary and the checks
    public static bool IsMapOrAlloc(this DmaEventKind kind) => kind is DmaEventKind.DmaMapPage
        or DmaEventKind.DmaMapResource or DmaEventKind.DmaMapPhys or DmaEventKind.DmaMapSg
        or DmaEventKind.DmaAlloc or DmaEventKind.DmaAllocPages or DmaEventKind.DmaAllocSgt;

    /// <summary>Unmap or free: releases a mapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // per event in the summary and the checks
    public static bool IsUnmapOrFree(this DmaEventKind kind) => kind is DmaEventKind.DmaUnmapPage
        or DmaEventKind.DmaUnmapResource or DmaEventKind.DmaUnmapPhys or DmaEventKind.DmaUnmapSg
        or DmaEventKind.DmaFree or DmaEventKind.DmaFreePages or DmaEventKind.DmaFreeSgt;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] // per event in the summary and the checks
    public static bool IsSync(this DmaEventKind kind) =>
        kind is >= DmaEventKind.DmaSyncSingleForCpu and <= DmaEventKind.DmaSyncSgForDevice;

    [MethodImpl(MethodImplOptions.AggressiveInlining)] // per event in the summary and the checks
    public static bool IsFence(this DmaEventKind kind) =>
        kind is >= DmaEventKind.DmaFenceEmit and <= DmaEventKind.DmaFenceWaitEnd;

    /// <summary>A dma_pool operation (mm/dmapool.c): create, destroy, alloc or free.</summary>
    public static bool IsDmaPool(this DmaEventKind kind) =>
        kind is >= DmaEventKind.DmaPoolCreate and <= DmaEventKind.DmaPoolFree;

    public static bool TryParse(string name, out DmaEventKind kind)
    {
        int i = Array.IndexOf(Names, name);
        kind = (DmaEventKind)Math.Max(i, 0);
        return i >= 0;
    }
}
