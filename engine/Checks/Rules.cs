using DmaReplay.Engine.Findings;

namespace DmaReplay.Engine.Checks;

/// <summary>A misuse rule: stable id (summary.json findings[].rule), default severity, and what it mirrors.</summary>
public sealed record RuleInfo(string Id, Severity Severity, string Description);

/// <summary>
/// Every rule the checker knows. Ids are stable. Errors are what dma-debug warns about; the rest
/// are DmaReplay's own (map failures, leaks, growth, error handles reused).
/// </summary>
public static class Rules
{
    public const string DoubleUnmap = "double-unmap";
    public const string UnmapNotMapped = "unmap-not-mapped";
    public const string UnmapWrongDevice = "unmap-wrong-device";
    public const string UnmapSizeMismatch = "unmap-size-mismatch";
    public const string UnmapDirectionMismatch = "unmap-direction-mismatch";
    public const string UnmapTypeMismatch = "unmap-type-mismatch";
    public const string FreeCpuAddressMismatch = "free-cpu-address-mismatch";
    public const string SgNentsMismatch = "sg-nents-mismatch";
    public const string SyncNotMapped = "sync-not-mapped";
    public const string SyncOutOfBounds = "sync-out-of-bounds";
    public const string SyncDirectionMismatch = "sync-direction-mismatch";
    public const string CachelineOverlap = "cacheline-overlap";
    public const string SgSegmentTooLong = "sg-segment-too-long";
    public const string SgSegmentCrossesBoundary = "sg-segment-crosses-boundary";
    public const string MapFailed = "map-failed";
    public const string MapErrorHandleUsed = "map-error-handle-used";
    public const string LeakAtEnd = "leak-at-end";
    public const string LeakGrowth = "leak-growth";
    public const string FenceDoubleSignal = "fence-double-signal";
    public const string FenceSeqnoRegression = "fence-seqno-regression";
    public const string FenceNeverSignaled = "fence-never-signaled";
    public const string FenceDestroyUnsignaled = "fence-destroy-unsignaled";
    public const string FenceSignalBeforeEmit = "fence-signal-before-emit";

    public static IReadOnlyList<RuleInfo> All { get; } =
    [
        new(DoubleUnmap, Severity.Error, "an address is unmapped or freed again after its mapping was already released (dma-debug: 'free DMA memory it has not allocated')"),
        new(UnmapNotMapped, Severity.Error, "unmap, free or sg unmap of an address never mapped on this device (dma-debug: 'free DMA memory it has not allocated')"),
        new(UnmapWrongDevice, Severity.Error, "unmap of an address that is live on another device, not this one"),
        new(UnmapSizeMismatch, Severity.Error, "unmap or free with a different size than the mapping (dma-debug: 'frees DMA memory with different size')"),
        new(UnmapDirectionMismatch, Severity.Error, "unmap with a different direction (dma-debug: 'frees DMA memory with different direction')"),
        new(UnmapTypeMismatch, Severity.Error, "released with the wrong function, e.g. dma_unmap_page of a dma_map_sg mapping (dma-debug: 'frees DMA memory with wrong function')"),
        new(FreeCpuAddressMismatch, Severity.Error, "dma_free with another CPU address than dma_alloc returned (dma-debug: 'frees DMA memory with different CPU address')"),
        new(SgNentsMismatch, Severity.Error, "dma_unmap_sg or dma_sync_sg with another entry count than dma_map_sg was called with"),
        new(SyncNotMapped, Severity.Error, "sync of memory not inside a live mapping of the device (dma-debug: 'sync DMA memory it has not allocated')"),
        new(SyncOutOfBounds, Severity.Error, "sync larger than the mapping (dma-debug: 'syncs DMA memory outside allocated range')"),
        new(SyncDirectionMismatch, Severity.Error, "sync with another direction, or for_cpu of device-read-only / for_device of device-write-only memory"),
        new(CachelineOverlap, Severity.Error, "two live mappings the device may write share a first cache line (dma-debug's active cacheline EEXIST), where the platform reports it"),
        new(SgSegmentTooLong, Severity.Error, "an sg segment longer than the device's max_segment_size"),
        new(SgSegmentCrossesBoundary, Severity.Error, "an sg segment crossing the device's segment boundary"),
        new(MapFailed, Severity.Info, "a map returned DMA_MAPPING_ERROR or an allocation failed"),
        new(MapErrorHandleUsed, Severity.Error, "DMA_MAPPING_ERROR was unmapped or synced as if it were a mapping (dma-debug: 'free an invalid DMA memory address')"),
        new(LeakAtEnd, Severity.Info, "still mapped or allocated when the trace ends (one finding per mapping)"),
        new(FenceDoubleSignal, Severity.Error, "a dma_fence signaled a second time"),
        new(FenceSeqnoRegression, Severity.Error, "a fence initialized with a seqno below one already used on its context (timeline): fences of one context must be ordered"),
        new(FenceNeverSignaled, Severity.Warning, "a fence initialized and not signaled by the end of the trace; an error when something waited on it or enabled signaling"),
        new(FenceDestroyUnsignaled, Severity.Error, "a fence destroyed (last reference dropped) before it was signaled"),
        new(FenceSignalBeforeEmit, Severity.Error, "a fence signaled before it was emitted, on a context whose fences are emitted"),
        new(LeakGrowth, Severity.Warning, "a device's live mappings keep rising across the trace: the floor (fewest live mappings) of each eighth of the trace never drops, rises in at least 5 of the 7 steps, ends at least 32 above where it started, and is still rising in the last quarter (a tenth of the rise, at least 8)"),
    ];

    private static readonly Dictionary<string, RuleInfo> ById = All.ToDictionary(r => r.Id, StringComparer.Ordinal);

    /// <summary>The rule with this id, or null (per finding: a lookup, no allocation).</summary>
    public static RuleInfo? Find(string id) => ById.GetValueOrDefault(id);
}
