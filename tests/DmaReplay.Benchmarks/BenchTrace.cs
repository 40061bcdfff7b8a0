using DmaReplay.Engine.Synthesis;

namespace DmaReplay.Benchmarks;

/// <summary>
/// The benchmark input: one synthetic trace, the same bytes in every process (the generator is
/// deterministic), so the host process can know its size for the throughput columns without
/// holding it.
/// </summary>
public static class BenchTrace
{
    public const long Events = 1_000_000;
    public static readonly SynthOptions Options = new() { Events = Events, Seed = 20251124 };

    private static readonly Lazy<byte[]> Data = new(() =>
    {
        using var ms = new MemoryStream();
        TraceSynthesizer.Write(Options, ms);
        return ms.ToArray();
    });

    private static readonly Lazy<long> Size = new(() => TraceSynthesizer.Write(Options, Stream.Null).Bytes);

    /// <summary>The trace text (generated on first use, ~175 MB).</summary>
    public static byte[] Bytes => Data.Value;

    /// <summary>Its length, computed by generating into a null stream (no memory held).</summary>
    public static long Length => Size.Value;

    /// <summary>Event lines of the trace (what ns/event divides by).</summary>
    public static long EventLines => Events;
}
