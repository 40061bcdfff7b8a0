using System.Text.Json;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Cost;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Cost;

[TestClass]
public sealed class CostReplayTests
{
    private static ReplayReport Replay(string bundle, CostModel? cost, params string[] settings)
    {
        var (platform, facts, own) = PlatformSource.Resolve(TestPaths.RealBundle(bundle), null, settings);
        var b = CaptureBundle.Load(TestPaths.RealBundle(bundle));
        return new ReplayRun(new CheckOptions()).Run(bundle, b.TracePath, platform, facts, own, cost).Replay!;
    }

    private static CostOpReport Op(CostReport c, string op) => c.Operations.Single(o => o.Op == op);

    [TestMethod]
    public void StrictModeInvalidatesOncePerUnmapAndNeverOnAMap()
    {
        // __iommu_dma_unmap without a flush queue: iommu_unmap_fast, then one iommu_iotlb_sync.
        var r = Replay("dev-iommu-strict", CostPresets.X86Vtd());
        var c = r.Cost!;
        Assert.AreEqual(Op(c, "unmap").Cpu.Calls, Op(c, "unmap").Counts.Invalidations);
        Assert.AreEqual(Op(c, "unmap_sg").Cpu.Calls, Op(c, "unmap_sg").Counts.Invalidations, "iommu_dma_unmap_sg unmaps the whole list as one range");
        Assert.AreEqual(0, Op(c, "map").Counts.Invalidations + Op(c, "map_sg").Counts.Invalidations);
        Assert.IsFalse(c.Operations.Any(o => o.Op == "fq_timer"), "no flush queue in strict mode");
        Assert.AreEqual(r.Iommu!.Domains.Sum(d => d.Hardware!.Invalidations), c.Operations.Sum(o => o.Counts.Invalidations));
        // Every translated map writes at least one leaf; with no 2 MiB leaves every page cleared is a page invalidated.
        Assert.IsGreaterThanOrEqualTo(Op(c, "map").Cpu.Calls, Op(c, "map").Counts.PtesMapped);
        Assert.AreEqual(0, r.Iommu.Domains.Sum(d => d.Hardware!.LargePageMaps));
        Assert.AreEqual(c.Operations.Sum(o => o.Counts.PtesUnmapped), c.Operations.Sum(o => o.Counts.InvalidatedPages));
        // Each IOVA comes from the range cache or the tree.
        Assert.AreEqual(r.Iommu.Domains.Sum(d => d.Allocations), c.Operations.Sum(o => o.Counts.IovaRcacheHits + o.Counts.IovaRcacheMisses));
        Assert.AreEqual(r.Iommu.Domains.Sum(d => d.RcacheHits), c.Operations.Sum(o => o.Counts.IovaRcacheHits));
    }

    [TestMethod]
    public void LazyModeLeavesTheInvalidationsToTheFlushQueue()
    {
        // queue_iova instead of iommu_iotlb_sync; fq_flush_iotlb does one domain-wide invalidation per flush.
        var r = Replay("dev-iommu-lazy", CostPresets.X86Vtd());
        var c = r.Cost!;
        long flushes = r.Iommu!.Domains.Sum(d => d.TimerFlushes + d.FullQueueFlushes);
        Assert.AreEqual(flushes, c.Operations.Sum(o => o.Counts.Invalidations));
        Assert.AreEqual(r.Iommu.Domains.Sum(d => d.FullQueueFlushes), Op(c, "unmap").Counts.Invalidations + Op(c, "unmap_sg").Counts.Invalidations,
            "an unmap invalidates only when its CPU's queue is full");
        Assert.AreEqual(r.Iommu.Domains.Sum(d => d.TimerFlushes), Op(c, "fq_timer").Counts.Invalidations);
        Assert.IsEmpty(c.Devices.SelectMany(d => d.Operations).Where(o => o.Op == "fq_timer"), "the timer is no device's call");
    }

    [TestMethod]
    public void TheCostModelChangesNothingElseInTheReports()
    {
        foreach (var bundle in new[] { "dev-iommu-lazy", "dev-swiotlb-force-2m" })
        {
            var (platform, facts, own) = PlatformSource.Resolve(TestPaths.RealBundle(bundle), null, []);
            var b = CaptureBundle.Load(TestPaths.RealBundle(bundle));
            var plain = new ReplayRun(new CheckOptions()).Run(bundle, b.TracePath, platform, facts, own);
            var costed = new ReplayRun(new CheckOptions()).Run(bundle, b.TracePath, platform, facts, own, CostPresets.Arm64Smmuv3());
            Assert.IsNull(plain.Replay!.Cost);
            Assert.AreEqual(Json(plain), Json(costed with { Replay = costed.Replay! with { Cost = null } }), bundle);
            Assert.AreEqual(Json(costed), Json(new ReplayRun(new CheckOptions()).Run(bundle, b.TracePath, platform, facts, own, CostPresets.Arm64Smmuv3())),
                "the same bytes on every run");
        }

        static string Json(DmaReplay.Engine.Summary.RunSummary s)
        {
            using var ms = new MemoryStream();
            DmaReplay.Reports.Json.JsonExporter.Write(s, ms);
            return System.Text.Encoding.UTF8.GetString(ms.ToArray());
        }
    }

    [TestMethod]
    public void SwiotlbBouncesAreCopiedAndSearchedOnTheCallsThatBounced()
    {
        var r = Replay("dev-swiotlb-force-2m", CostPresets.DirectSwiotlb());
        var c = r.Cost!;
        var s = r.Swiotlb!;
        Assert.AreEqual(s.SearchSteps, c.Operations.Sum(o => o.Counts.SlotSearchSteps), "every slot search belongs to a map");
        Assert.AreEqual(s.SearchSteps, Op(c, "map").Counts.SlotSearchSteps + Op(c, "map_sg").Counts.SlotSearchSteps);
        Assert.AreEqual(s.Bytes.ToDevice + s.Bytes.FromDevice, c.Operations.Sum(o => o.Counts.BounceBytes));
        Assert.AreEqual(0, c.Operations.Sum(o => o.Counts.PtesMapped + o.Counts.Invalidations + o.Counts.IovaRcacheHits), "no IOMMU");
    }

    [TestMethod]
    public void CacheMaintenanceOfNonCoherentDevicesIsPricedPerLine()
    {
        // arch_sync_dma_for_device at map, _for_cpu at unmap and sync_for_cpu: the lines the coherency model counted.
        string json = Path.Combine(CliHarness.NewDir(), "s.json");
        var (code, _, err) = CliHarness.Run("replay", TestPaths.Traces("synthetic", "noncoherent-correct.trace"), "--platform", "arm64-noncoherent-soc",
            "--cost", "arm64-smmuv3", "--json", json, "--fail-on", "none");
        Assert.AreEqual(0, code, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var coherency = doc.RootElement.GetProperty("coherency");
        var ops = doc.RootElement.GetProperty("cost").GetProperty("operations").EnumerateArray()
            .ToDictionary(o => o.GetProperty("op").GetString()!, o => o.GetProperty("counts").GetProperty("cacheLines").GetInt64());
        var byOp = coherency.GetProperty("linesByOperation");
        Assert.IsGreaterThan(0L, coherency.GetProperty("lines").GetInt64());
        Assert.AreEqual(coherency.GetProperty("lines").GetInt64(), ops.Values.Sum());
        Assert.AreEqual(byOp.GetProperty("map").GetInt64(), ops["map"] + ops.GetValueOrDefault("map_sg"));
        Assert.AreEqual(byOp.GetProperty("unmap").GetInt64(), ops["unmap"] + ops.GetValueOrDefault("unmap_sg"));
    }

    [TestMethod]
    public void CompareStrictLazyPassthroughInOnePass()
    {
        string dir = CliHarness.NewDir(), json = Path.Combine(dir, "c.json"), plainJson = Path.Combine(dir, "p.json");
        var (code, stdout, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-strict"),
            "--compare", "iommu.mode=strict,lazy,passthrough", "-o", dir, "--json", json);
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(stdout, "compare: 3 variants");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var v = doc.RootElement.GetProperty("variants");
        JsonElement Fig(int i, string section, string metric) => v[i].GetProperty(section).GetProperty(metric);

        // The strict variant is what a plain replay with iommu.mode=strict and the same cost model gives.
        (code, _, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-strict"), "--set", "iommu.mode=strict", "--cost", CostPresets.Default,
            "--json", plainJson);
        Assert.AreEqual(0, code, err);
        using var plain = JsonDocument.Parse(File.ReadAllText(plainJson));
        var p = plain.RootElement;
        Assert.AreEqual(p.GetProperty("cost").GetProperty("cpuNs").GetInt64(), Fig(0, "totals", "cpuNs").GetInt64());
        Assert.AreEqual(p.GetProperty("iommu").GetProperty("domains").EnumerateArray().Sum(d => d.GetProperty("hardware").GetProperty("invalidations").GetInt64()),
            Fig(0, "iommu", "invalidations").GetInt64());
        Assert.AreEqual(p.GetProperty("agreement").GetProperty("mismatchCount").GetInt64(), Fig(0, "totals", "mismatches").GetInt64());

        // Every variant read the same events; strict invalidates once per unmap, lazy once per flush-queue flush; passthrough has no page table.
        Assert.AreEqual(Fig(0, "totals", "events").GetInt64(), Fig(2, "totals", "events").GetInt64());
        long unmaps = Fig(0, "totals", "unmaps").GetInt64();
        Assert.AreEqual(unmaps, Fig(0, "iommu", "invalidations").GetInt64());
        Assert.AreEqual(Fig(1, "iommu", "flushQueueFlushes").GetInt64(), Fig(1, "iommu", "invalidations").GetInt64());
        Assert.IsLessThan(unmaps / 10, Fig(1, "iommu", "invalidations").GetInt64());
        Assert.AreEqual(JsonValueKind.Null, Fig(2, "iommu", "pageTablePagesPeak").ValueKind);
        Assert.AreEqual(0, Fig(2, "iommu", "domains").GetInt64());
        Assert.AreEqual(0, Fig(2, "totals", "deviceNs").GetInt64(), "no translation, no page walks");
        Assert.IsLessThan(Fig(0, "totals", "cpuNs").GetInt64(), Fig(1, "totals", "cpuNs").GetInt64());
        Assert.IsLessThan(Fig(1, "totals", "cpuNs").GetInt64(), Fig(2, "totals", "cpuNs").GetInt64());

        foreach (var f in new[] { "compare.json", "compare.csv", "compare.html" }) Assert.IsTrue(File.Exists(Path.Combine(dir, f)), f);
        var again = CliHarness.NewDir();
        (code, _, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-strict"), "--compare", "iommu.mode=strict,lazy,passthrough", "-o", again);
        Assert.AreEqual(0, code, err);
        foreach (var f in new[] { "compare.json", "compare.csv", "compare.html" })
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(dir, f)), File.ReadAllBytes(Path.Combine(again, f)), f + " byte-identical");
    }

    [TestMethod]
    public void CompareAcceptsAnySetKeyAndEscapesTheLabels()
    {
        string dir = CliHarness.NewDir();
        var (code, _, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-strict"),
            "--compare", "device.<b>x.coherent=true,false", "--compare", "cost.iotlb_inv_ns=100,5000", "-o", dir, "--format", "html,csv");
        Assert.AreEqual(0, code, err);
        string html = File.ReadAllText(Path.Combine(dir, "compare.html"));
        Assert.IsFalse(html.Contains("<b>x", StringComparison.Ordinal));
        StringAssert.Contains(html, "device.&lt;b&gt;x.coherent=true cost.iotlb_inv_ns=100");
        string header = File.ReadLines(Path.Combine(dir, "compare.csv")).First();
        Assert.AreEqual(4, header.Split(',').Length - 3, "four variants: every combination of the two keys");

        (code, _, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-strict"), "--compare", "iommu.mode=strict", "-o", dir);
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "give at least two values");
        (code, _, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-strict"), "--compare", "iommu.mode=strict,sideways", "-o", dir);
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "'sideways' is not none, identity, dma or dma-fq");
    }

    [TestMethod]
    public void ReplayWithCostWritesTheCostTablesAndSection()
    {
        string dir = CliHarness.NewDir();
        var (code, stdout, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-lazy"), "--cost", "arm64-smmuv3", "--set", "cost.sync_ns=1", "-o", dir);
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(stdout, "cost (arm64-smmuv3):");
        foreach (var f in new[] { "cost-operations.csv", "cost-devices.csv", "cost-by-term.csv", "cost-model.csv" })
            Assert.IsTrue(File.Exists(Path.Combine(dir, f)), f);
        StringAssert.Contains(File.ReadAllText(Path.Combine(dir, "cost-model.csv")), "sync_ns,1,ns/call");
        string html = File.ReadAllText(Path.Combine(dir, "report.html"));
        StringAssert.Contains(html, "<section id=\"cost\">");
        StringAssert.Contains(html, "<svg class=\"cost-chart\"");
        (code, _, err) = CliHarness.Run("replay", TestPaths.RealBundle("dev-iommu-lazy"), "--cost", "no-such-model", "-o", dir);
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "--cost: 'no-such-model' is neither a preset");
    }
}
