using BenchmarkDotNet.Attributes;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;

namespace DmaReplay.Benchmarks;

/// <summary>
/// Whole replays of the benchmark trace (reader, emulated stack, dma-debug checks, summary) on
/// three platforms: dma-direct, every buffer bounced through SWIOTLB, and every device behind a
/// strict IOMMU with the default IOTLB model. The trace is written once to a temporary file,
/// which stays in the page cache, since a replay reads a path (pool inference may read it twice).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class ReplayBenchmarks
{
    private static readonly string[] Devices = ["0000:00:02.0", "0000:00:03.0", "0000:00:04.0"];
    private string _path = "";
    private PlatformModel _direct = null!, _swiotlb = null!, _iommu = null!;

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"dmareplay-bench-{Environment.ProcessId}.trace");
        File.WriteAllBytes(_path, BenchTrace.Bytes);
        (_direct, _swiotlb, _iommu) = Platforms();
    }

    /// <summary>dma-direct on x86-64-default; the same with swiotlb=force; every benchmark device behind a strict IOMMU.</summary>
    internal static (PlatformModel Direct, PlatformModel Swiotlb, PlatformModel Iommu) Platforms()
    {
        var direct = PlatformPresets.X86Default();
        return (direct, PlatformSettings.Apply(direct, ["swiotlb.force=true"]),
            PlatformSettings.Apply(direct, Devices.Select(d => $"device.{d}.iommu=strict").ToList()));
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark]
    public long ReplayDirect() => Replay(_direct);

    [Benchmark]
    public long ReplaySwiotlbForced() => Replay(_swiotlb);

    [Benchmark]
    public long ReplayIommuStrictIotlb() => Replay(_iommu);

    private long Replay(PlatformModel platform)
    {
        var summary = new ReplayRun(new CheckOptions()).Run("bench", _path, platform, facts: null, captureOwn: false);
        if (summary.Inputs[0].Malformed != 0) throw new InvalidOperationException("benchmark input has malformed lines");
        return summary.Inputs[0].Events;
    }
}

