namespace DmaReplay.Engine.Findings;

/// <summary>
/// The driver function behind a DMA call: the first stack frame that is not tracing machinery or
/// the DMA API itself, so findings group by where a driver made the call.
/// </summary>
public static class CallSites
{
    private static readonly string[] Machinery =
    [
        "trace_event_raw_event_", "perf_trace_", "__traceiter_", "trace_", "dma_", "__dma_", "debug_dma_",
        "iommu_dma_", "swiotlb_", "__swiotlb_", "dma_direct_", "__iommu_dma_",
    ];

    public static string Of(IReadOnlyList<string> stack)
    {
        foreach (var frame in stack)
        {
            if (!Machinery.Any(p => frame.StartsWith(p, StringComparison.Ordinal))) return frame;
        }
        return stack.Count > 0 ? stack[^1] : "";
    }
}
