using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Pools;

/// <summary>Replays of the synthetic pool traces: dma_pool blocks and atomic pool addresses as the allocators decide them, exhaustion predicted where the trace failed.</summary>
[TestClass]
public sealed class PoolReplayTests
{
    private static DmaReplay.Engine.Pools.PoolsReport Replay(string name, PlatformModel platform)
    {
        var path = TestPaths.Traces("synthetic", name);
        var summary = new ReplayRun(new CheckOptions()).Run(name, path, platform, null, captureOwn: false);
        return summary.Replay!.Pools!;
    }

    [TestMethod]
    public void EveryDmaPoolBlockIsTheOneDmapoolReturns()
    {
        var p = Replay("pools.trace", PlatformPresets.X86Default());
        Assert.IsNotNull(p.DmaPoolAgreement);
        Assert.IsGreaterThan(40L, p.DmaPoolAgreement.Compared);
        Assert.AreEqual(p.DmaPoolAgreement.Compared, p.DmaPoolAgreement.Exact);
        Assert.IsTrue(p.DmaPools.All(d => d.Destroyed && d.ActiveAtEnd == 0), "the unbind destroyed every pool, empty");
        var contexts = p.DmaPools.Single(d => d.Name == "xHCI input/output contexts");
        Assert.AreEqual(contexts.Pages, (int)contexts.Blocks, "2112-byte blocks with a 4 KiB boundary: one per page");
    }

    [TestMethod]
    public void AtomicPoolExhaustionIsPredictedWhereTheTraceFailed()
    {
        var p = Replay("atomic-pool-pressure.trace", PlatformPresets.X86SevGuest());
        Assert.IsTrue(p.AtomicPools.All(a => a.InitialBytes == 1UL << 20), "8 GiB: 128 KiB per GiB, rounded up to 2^8 pages");
        Assert.IsGreaterThan(0L, p.AllocationFailures.Recorded);
        Assert.AreEqual(p.AllocationFailures.Recorded, p.AllocationFailures.Predicted);
        Assert.AreEqual(p.AllocationFailures.Recorded, p.AllocationFailures.Matched);
        Assert.AreEqual(p.AtomicPoolAgreement!.Compared, p.AtomicPoolAgreement.Exact);
        Assert.IsTrue(p.AtomicPools.Any(a => a.Expansions > 0), "the worker grew the pools");
        Assert.IsTrue(p.Sources.Where(s => s.Device == "0000:00:07.0").All(s => s.Source.StartsWith("atomic-pool-", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void OnTheDefaultPlatformGfpAtomicNeedsNoPool()
    {
        // x86 is coherent and unencrypted: dma_direct_alloc never remaps or decrypts, so the buddy allocator serves GFP_ATOMIC
        var p = Replay("atomic-pool-pressure.trace", PlatformPresets.X86Default());
        Assert.IsTrue(p.Sources.Where(s => s.Device == "0000:00:07.0").All(s => s.Source == "pages-normal"));
        Assert.AreEqual(0L, p.AllocationFailures.Predicted);
    }

    [TestMethod]
    [DataRow("dev-direct")]
    [DataRow("dev-swiotlb-force-2m")]
    public void TheAtomicPoolsOfTheRealCapturesHaveTheSizesTheirDmesgPrints(string bundle)
    {
        var dir = TestPaths.Traces("real", bundle);
        var platform = CaptureBundle.Load(dir).Platform;
        var pools = new DmaReplay.Engine.Pools.AtomicPools(platform.AtomicPoolSize, platform.HasDmaZone, 0, platform.Kernel);
        var printed = System.Text.RegularExpressions.Regex.Matches(CaptureBundle.ReadText(dir, "dmesg.txt")!,
            @"DMA: preallocated (\d+) KiB (\S+) pool for atomic allocations").ToDictionary(m => m.Groups[2].Value, m => ulong.Parse(m.Groups[1].Value) << 10);
        Assert.HasCount(3, printed);
        foreach (var z in new[] { DmaReplay.Engine.Pools.AtomicZone.Kernel, DmaReplay.Engine.Pools.AtomicZone.Dma, DmaReplay.Engine.Pools.AtomicZone.Dma32 })
            Assert.AreEqual(printed[DmaReplay.Engine.Pools.AtomicPools.GfpName(z)], pools.Pool(z)!.Size, z.ToString());
    }

    [TestMethod]
    public void SettingsAndThePlatformFileCarryTheAllocationFacts()
    {
        var p = PlatformSettings.Apply(PlatformPresets.X86Default(),
            ["coherent_pool=2M", "atomic_pool.expand_delay_us=250", "dma.direct_remap=true", "cma.size=64M", "device.0000:00:05.0.coherent_mem=0x90000000,1M"]);
        Assert.AreEqual(2UL << 20, p.AtomicPoolSize);
        var path = Path.Combine(Path.GetTempPath(), "dmareplay-alloc-" + Guid.NewGuid().ToString("n") + ".json");
        try
        {
            using (var f = File.Create(path)) PlatformJson.Write(p, f);
            var back = PlatformJson.Read(path);
            Assert.AreEqual(p.Allocation, back.Allocation);
            Assert.AreEqual(new CoherentRegion(0x9000_0000, 1UL << 20), back.Devices.Single(d => d.Name == "0000:00:05.0").CoherentMem);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
