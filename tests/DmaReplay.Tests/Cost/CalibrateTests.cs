using System.Text.Json;
using DmaReplay.Engine.Cost;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Cost;

[TestClass]
public sealed class CalibrateTests
{
    // Written from the printf formats of tools/testing/selftests/dma/dma_map_benchmark.c (6.12):
    // "dma mapping benchmark: threads:%d seconds:%d node:%d dir:%s granule: %d",
    // "average map latency(us):%.1f standard deviation:%.1f", "average unmap latency(us):%.1f standard deviation:%.1f".
    private const string Strict612 = """
        [root@host ~]# ./dma_map_benchmark -g 1
        dma mapping benchmark: threads:1 seconds:20 node:-1 dir:BIDIRECTIONAL granule: 1
        average map latency(us):0.3 standard deviation:0.1
        average unmap latency(us):1.2 standard deviation:0.2
        [root@host ~]# ./dma_map_benchmark -g 16
        dma mapping benchmark: threads:1 seconds:20 node:-1 dir:BIDIRECTIONAL granule: 16
        average map latency(us):0.6 standard deviation:0.1
        average unmap latency(us):1.8 standard deviation:0.3
        [root@host ~]# ./dma_map_benchmark -g 64
        dma mapping benchmark: threads:1 seconds:20 node:-1 dir:BIDIRECTIONAL granule: 64
        average map latency(us):1.5 standard deviation:0.2
        average unmap latency(us):3.6 standard deviation:0.4
        """;

    private static IReadOnlyList<string> Lines(string text) => text.Split('\n');

    [TestMethod]
    public void ReadsEveryRunOfA612Output()
    {
        var runs = MapBenchmarkOutput.Parse(Lines(Strict612), "b.txt");
        Assert.HasCount(3, runs);
        Assert.AreEqual(new MapBenchmarkRun(2, 1, 20, -1, "BIDIRECTIONAL", 1, false, BenchmarkPath.Strict, 300, 100, 1200, 200), runs[0]);
        CollectionAssert.AreEqual(new[] { 1, 16, 64 }, runs.Select(r => r.Granule).ToArray());
        Assert.AreEqual(3600, runs[2].UnmapNs, "µs with one decimal, in ns");
    }

    [TestMethod]
    public void ReadsTheOlderAndNewerFormatsAndTheIommuAnnotation()
    {
        string text = """
            dma mapping benchmark: average map_nsec:3619 average unmap_nsec:2423
            # iommu: lazy
            dma mapping benchmark: threads:16 seconds:10
            average map latency(us):1.1 standard deviation:1.9
            average unmap latency(us):0.5 standard deviation:0.8
            # iommu: passthrough
            dma mapping benchmark: threads:4 seconds:30 node:0 dir:TO_DEVICE
            average map latency(us):0.1 standard deviation:0.0
            average unmap latency(us):0.0 standard deviation:0.0
            dma mapping mode: DMA_MAP_SG_MODE
            dma mapping benchmark: threads:8 seconds:30 node:-1 dir:FROM_DEVICE granule/sg_nents: 8
            average map latency(us):1.4 standard deviation:0.3
            average unmap latency(us):1.3 standard deviation:0.3
            """;
        var runs = MapBenchmarkOutput.Parse(Lines(text), "b.txt");
        Assert.HasCount(4, runs);
        Assert.AreEqual((3619.0, 2423.0, BenchmarkPath.Strict), (runs[0].MapNs, runs[0].UnmapNs, runs[0].Path), "the first posting's one-line form");
        Assert.AreEqual((16, 1, BenchmarkPath.Lazy, 1100.0), (runs[1].Threads, runs[1].Granule, runs[1].Path, runs[1].MapNs), "no granule: one page");
        Assert.AreEqual(("TO_DEVICE", BenchmarkPath.Direct), (runs[2].Dir, runs[2].Path));
        Assert.AreEqual((true, 8), (runs[3].Sg, runs[3].Granule), "the sg mode's entry count");
    }

    [TestMethod]
    [DataRow("dma mapping benchmark: threads:1 seconds:20 node:-1 dir:BIDIRECTIONAL granule: 1\naverage map latency(us):0.3 standard deviation:0.1\n", "b.txt:1: the run has no unmap latency line")]
    [DataRow("average map latency(us):0.3 standard deviation:0.1\n", "b.txt:1: a latency line with no 'dma mapping benchmark:' line before it")]
    [DataRow("dma mapping benchmark: threads:1 seconds:20 granule: 1\naverage map latency(us):fast standard deviation:0.1\n", "b.txt:2: 'fast' is not a latency in µs")]
    [DataRow("dma mapping benchmark: threads:1 seconds:20 granule: 1\naverage map latency: 3\n", "b.txt:2: expected 'average map|unmap latency(us)")]
    [DataRow("dma mapping benchmark: threads:x seconds:20\n", "b.txt:1: threads: 'x' is not an integer")]
    [DataRow("dma mapping benchmark: seconds:20\n", "b.txt:1: the header has no threads:")]
    [DataRow("dma mapping benchmark: threads:1 seconds:20 granule: 2048\n", "b.txt:1: threads and seconds must be at least 1 and the granule 1–1024")]
    [DataRow("dma mapping benchmark: threads:1 seconds:20 dir:SIDEWAYS\n", "b.txt:1: dir:SIDEWAYS is not")]
    [DataRow("dma mapping benchmark: threads:1 seconds:20\naverage unmap latency(us):0.3 standard deviation:0.1\n", "b.txt:2: the unmap latency of the run of line 1 comes before its map latency")]
    [DataRow("# iommu: sometimes\n", "b.txt:1: # iommu: 'sometimes' is not strict, lazy, passthrough or none")]
    [DataRow("hello\nworld\n", "b.txt:3: no dma_map_benchmark run found")]
    public void MalformedOutputIsAnErrorWithFileAndLine(string text, string expected)
    {
        var ex = Assert.ThrowsExactly<FormatException>(() => MapBenchmarkOutput.Parse(Lines(text), "b.txt"));
        StringAssert.StartsWith(ex.Message, expected);
    }

    [TestMethod]
    public void TheFitIsTheLeastSquaresLineOverGranules()
    {
        var cal = CostCalibration.Fit(MapBenchmarkOutput.Parse(Lines(Strict612), "b.txt"), "x86-vtd", "b.txt");
        var f = cal.Fits.Single();
        // map: points (1,300) (16,600) (64,1500): mean g 27, mean y 800; Sxx = 676+121+1369 = 2166; Sxy = (-26)(-500)+(-11)(-200)+(37)(700) = 41100.
        Assert.AreEqual(41100.0 / 2166, f.Map.Slope, 1e-9);
        Assert.AreEqual(800 - 41100.0 / 2166 * 27, f.Map.Intercept, 1e-9);
        Assert.AreEqual(Math.Round(41100.0 / 2166, 2), cal.Model.PteMapNs);
        Assert.AreEqual(Math.Round(800 - 41100.0 / 2166 * 27 - CostPresets.X86Vtd().IovaRcacheHitNs, 2), cal.Model.IommuDmaMapNs, "the range-cache hit comes out of the fixed part");
        Assert.AreEqual(Math.Round(f.Unmap.Intercept, 2), Math.Round(cal.Model.IommuDmaUnmapNs + cal.Model.IotlbInvNs, 2), 0.011, "strict unmap: fixed part = unmap + invalidation");
        Assert.IsTrue(cal.Notes.Any(n => n.StartsWith("strict runs only", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void StrictAndLazyRunsTogetherSeparateTheInvalidation()
    {
        string text = Strict612 + """

            # iommu: lazy
            dma mapping benchmark: threads:1 seconds:20 node:-1 dir:BIDIRECTIONAL granule: 1
            average map latency(us):0.3 standard deviation:0.1
            average unmap latency(us):0.2 standard deviation:0.0
            dma mapping benchmark: threads:1 seconds:20 node:-1 dir:BIDIRECTIONAL granule: 64
            average map latency(us):1.5 standard deviation:0.2
            average unmap latency(us):0.8 standard deviation:0.1
            """;
        var cal = CostCalibration.Fit(MapBenchmarkOutput.Parse(Lines(text), "b.txt"), "x86-vtd", "b.txt");
        var strict = cal.Fits.Single(x => x.Path == BenchmarkPath.Strict);
        var lazy = cal.Fits.Single(x => x.Path == BenchmarkPath.Lazy);
        Assert.AreEqual(Math.Round(lazy.Unmap.Intercept, 2), cal.Model.IommuDmaUnmapNs);
        Assert.AreEqual(Math.Round(strict.Unmap.Intercept - lazy.Unmap.Intercept, 2), cal.Model.IotlbInvNs);
        Assert.AreEqual(Math.Round(600.0 / 63, 2), cal.Model.PteUnmapNs, "lazy unmap per page: (800 − 200) / 63");
    }

    [TestMethod]
    public void CalibrateWritesACostFileReplayAccepts()
    {
        string dir = CliHarness.NewDir(), input = Path.Combine(dir, "bench.txt"), cost = Path.Combine(dir, "cost.json"), json = Path.Combine(dir, "s.json");
        File.WriteAllText(input, Strict612);
        var (code, stdout, err) = CliHarness.Run("calibrate", input, "-o", cost, "--base", "arm64-smmuv3");
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(stdout, "strict: 3 runs, granules 1,16,64");
        var model = CostModelJson.Read(cost);
        Assert.AreEqual("bench.txt", model.Name);
        Assert.AreEqual(CostPresets.Arm64Smmuv3().SgEntryNs, model.SgEntryNs, "a term the runs cannot give: from --base");
        (code, _, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-strict"), "--cost", cost, "--json", json);
        Assert.AreEqual(0, code, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual("bench.txt", doc.RootElement.GetProperty("cost").GetProperty("model").GetString());

        File.WriteAllText(input, "average map latency(us):0.3 standard deviation:0.1\n");
        (code, _, err) = CliHarness.Run("calibrate", input);
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "bench.txt:1: a latency line with no 'dma mapping benchmark:' line before it");
    }
}
