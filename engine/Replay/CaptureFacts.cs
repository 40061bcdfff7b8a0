namespace DmaReplay.Engine.Replay;

/// <summary>What the capture recorded about its own SWIOTLB (debugfs and the pool probe), to compare a replay with.</summary>
public sealed record CaptureFacts
{
    public long? UsedHiwater { get; init; }
    public long? UsedAtEnd { get; init; }
    /// <summary>Per area (used, index) read from the kernel after the trace.</summary>
    public IReadOnlyList<(int Used, int Index)>? Areas { get; init; }
}
