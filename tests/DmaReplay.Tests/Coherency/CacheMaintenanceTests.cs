using CsCheck;
using DmaReplay.Engine.Coherency;
using DmaReplay.Engine.Direct;
using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Coherency;

/// <summary>
/// The arm64 range operations of arch/arm64/mm/cache.S and the 6.12 unaligned-kmalloc bounce,
/// against values worked out by hand from the kernel source.
/// </summary>
[TestClass]
public sealed class CacheMaintenanceTests
{
    [TestMethod]
    public void CleanTouchesEveryLineTheRangeReaches()
    {
        // dcache_clean_poc(0x1000, 0x1000 + 1500): lines 0x1000 … 0x15c0 = ceil(1500 / 64) = 24.
        Assert.AreEqual(new DcacheLines(24, 0, 0), Arm64Dcache.CleanPoc(0x1000, 1500, 64));
        // 16 bytes into a line, 1500 bytes reach 0x15ec: still 24 lines (0x1000 … 0x15c0).
        Assert.AreEqual(new DcacheLines(24, 0, 0), Arm64Dcache.CleanPoc(0x1010, 1500, 64));
        // 60 bytes from 0x1030 cross into the next line: 2.
        Assert.AreEqual(new DcacheLines(2, 0, 0), Arm64Dcache.CleanPoc(0x1030, 60, 64));
        // do-while: an empty range still cleans its line.
        Assert.AreEqual(new DcacheLines(1, 0, 0), Arm64Dcache.CleanPoc(0x1000, 0, 64));
        Assert.AreEqual(new DcacheLines(0, 0, 64), Arm64Dcache.CleanInvalPoc(0x2000, 4096, 64));
    }

    [TestMethod]
    public void InvalidateCleansPartialEdgeLines()
    {
        // Aligned start, end 0x15dc unaligned: dc civac 0x15c0, then dc ivac 0x1000 … 0x1580 (23 lines).
        Assert.AreEqual(new DcacheLines(0, 23, 1), Arm64Dcache.InvalPoc(0x1000, 1500, 64));
        // Both edges partial: civac 0x15c0 and 0x1000, ivac 0x1040 … 0x1580 (22 lines).
        Assert.AreEqual(new DcacheLines(0, 22, 2), Arm64Dcache.InvalPoc(0x1010, 1500, 64));
        // Both edges in one line: that line is cleaned and invalidated twice, nothing else.
        Assert.AreEqual(new DcacheLines(0, 0, 2), Arm64Dcache.InvalPoc(0x1008, 16, 64));
        // Aligned start, short unaligned end in the same line: civac then ivac of that line.
        Assert.AreEqual(new DcacheLines(0, 1, 1), Arm64Dcache.InvalPoc(0x1000, 24, 64));
        // Unaligned start, aligned end in the same line: only its civac.
        Assert.AreEqual(new DcacheLines(0, 0, 1), Arm64Dcache.InvalPoc(0x1020, 32, 64));
        Assert.AreEqual(new DcacheLines(0, 64, 0), Arm64Dcache.InvalPoc(0x3000, 4096, 64));
    }

    [TestMethod]
    public void InvalidateTouchesTheCoveredLinesAndCleansOnlyPartialOnes()
    {
        var gen = from line in Gen.Int[4, 8].Select(s => 1UL << s)
                  from start in Gen.ULong[0, 1UL << 40]
                  from size in Gen.ULong[1, 1UL << 16]
                  select (line, start, size);
        gen.Sample(t =>
        {
            var (line, start, size) = t;
            ulong end = start + size, mask = line - 1;
            ulong first = start & ~mask, last = (end - 1) & ~mask;
            long covered = (long)((last - first) / line) + 1;
            var inval = Arm64Dcache.InvalPoc(start, size, line);
            bool endPartial = (end & mask) != 0, startPartial = (start & mask) != 0;
            Assert.AreEqual((endPartial ? 1 : 0) + (startPartial ? 1 : 0), inval.CleanInvalidate);
            // Every covered line once, plus the one line touched twice when the range starts and ends in it with a partial end.
            Assert.AreEqual(covered + (first == last && endPartial ? 1 : 0), inval.Total);
            Assert.AreEqual(covered, Arm64Dcache.CleanPoc(start, size, line).Clean);
        });
    }

    [TestMethod]
    public void ArchHooksPerDirection()
    {
        foreach (var dir in new[] { DmaDirection.Bidirectional, DmaDirection.ToDevice, DmaDirection.FromDevice })
            Assert.AreEqual(MaintenanceKind.Clean, ArchDmaSync.ForDevice(dir), "arch_sync_dma_for_device cleans for every direction");
        Assert.AreEqual(MaintenanceKind.None, ArchDmaSync.ForCpu(DmaDirection.ToDevice));
        Assert.AreEqual(MaintenanceKind.Invalidate, ArchDmaSync.ForCpu(DmaDirection.FromDevice));
        Assert.AreEqual(MaintenanceKind.Invalidate, ArchDmaSync.ForCpu(DmaDirection.Bidirectional));
        Assert.AreEqual(MaintenanceKind.Clean, ArchDmaSync.PrepCoherent);
    }

    [TestMethod]
    public void KmallocBounceFollowsTheKmallocCachesAndTheCacheLine()
    {
        // arm64-noncoherent-soc: SWIOTLB allocated, so kmalloc caches keep their natural sizes
        // (8, 16, 32, 64, 96, 128, 192, 256); dma_get_cache_alignment() = 64; 2 * ARCH_DMA_MINALIGN = 256.
        var p = PlatformPresets.Arm64NonCoherentSoc();
        var dev = p.Device("soc-dev");
        Assert.IsFalse(dev.Coherent);
        ulong[] bounce = [1, 8, 24, 32, 65, 96];
        ulong[] inPlace = [0, 33, 64, 97, 128, 129, 192, 200, 255, 256, 1500];
        foreach (var s in bounce) Assert.IsTrue(DmaDirect.KmallocNeedsBounce(dev, p, s, DmaDirection.FromDevice), $"size {s}");
        foreach (var s in inPlace) Assert.IsFalse(DmaDirect.KmallocNeedsBounce(dev, p, s, DmaDirection.FromDevice), $"size {s}");
        Assert.IsTrue(DmaDirect.KmallocNeedsBounce(dev, p, 24, DmaDirection.Bidirectional));
        Assert.IsFalse(DmaDirect.KmallocNeedsBounce(dev, p, 24, DmaDirection.ToDevice), "DMA_TO_DEVICE is kmalloc-safe");
        Assert.IsFalse(DmaDirect.KmallocNeedsBounce(dev with { Coherent = true }, p, 24, DmaDirection.FromDevice), "a coherent device is safe");
        Assert.AreEqual(BounceReason.Kmalloc, DmaDirect.ReasonToBounce(dev, p, 0x4100_0000, 24, DmaDirection.FromDevice));
        Assert.AreEqual(BounceReason.None, DmaDirect.ReasonToBounce(dev, p, 0x4100_0000, 64, DmaDirection.FromDevice));

        // CTR_EL0.CWG of 128 (dma_get_cache_alignment() 128): 64 and 192 are no longer aligned.
        var wide = PlatformSettings.Apply(p, ["dma.cache_alignment=128"]);
        Assert.IsTrue(DmaDirect.KmallocNeedsBounce(dev, wide, 64, DmaDirection.FromDevice));
        Assert.IsTrue(DmaDirect.KmallocNeedsBounce(dev, wide, 192, DmaDirection.FromDevice));
        Assert.IsFalse(DmaDirect.KmallocNeedsBounce(dev, wide, 200, DmaDirection.FromDevice));

        // No SWIOTLB: kmalloc caches are aligned to the cache line (__kmalloc_minalign), nothing needs a bounce.
        var noPool = PlatformSettings.Apply(p, ["swiotlb.nslabs=0"]);
        Assert.AreEqual(128UL, DmaDirect.KmallocSizeRoundup(96, DmaDirect.KmallocMinalign(noPool), noPool.Kernel));
        foreach (var s in bounce) Assert.IsFalse(DmaDirect.KmallocNeedsBounce(dev, noPool, s, DmaDirection.FromDevice), $"size {s}");
        Assert.AreEqual(DirectDecision.Direct, DmaDirect.Decide(dev, noPool, 0x4100_0000, 96, DmaDirection.FromDevice));
    }
}
