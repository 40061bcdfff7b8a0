namespace DmaReplay.Parsers.Model;

/// <summary>enum dma_data_direction (include/linux/dma-direction.h). Values are the kernel's.</summary>
public enum DmaDirection : byte
{
    Bidirectional = 0,
    ToDevice = 1,
    FromDevice = 2,
    None = 3,
    /// <summary>The trace printed a value outside the kernel's table (6.12 dma_alloc prints stale ring-buffer bytes).</summary>
    Unknown = 255,
}

public static class DmaDirections
{
    /// <summary>The name the trace prints (__print_symbolic in dma.h).</summary>
    public static string TraceName(this DmaDirection d) => d switch
    {
        DmaDirection.Bidirectional => "BIDIRECTIONAL",
        DmaDirection.ToDevice => "TO_DEVICE",
        DmaDirection.FromDevice => "FROM_DEVICE",
        DmaDirection.None => "NONE",
        _ => "UNKNOWN",
    };

    /// <summary>The name dma-debug prints in its warnings ("DMA_TO_DEVICE").</summary>
    public static string KernelName(this DmaDirection d) => d == DmaDirection.Unknown ? "DMA_UNKNOWN" : "DMA_" + d.TraceName();
}
