namespace DmaReplay.Engine.Coherency;

/// <summary>
/// Whether the map event being checked right now went through SWIOTLB, per sg entry: what
/// dma-debug's unaligned-kmalloc exemption stands in for. The replay knows it exactly; a plain
/// check reads it from the trace's swiotlb_bounced lines.
/// </summary>
public interface IBounceWitness
{
    /// <summary>True or false when known for entry <paramref name="segment"/> of map event <paramref name="e"/> (0 for a single map), null when not.</summary>
    bool? Bounced(Parsers.Model.DmaEvent e, int segment);
}
