using DmaReplay.Engine;
using DmaReplay.Engine.Iommu;

namespace DmaReplay.Tests.Iommu;

/// <summary>
/// The IOVA allocator on small sequences worked out by hand from drivers/iommu/iova.c (6.12):
/// top-down placement below the cached node, size alignment, the cached node after frees,
/// reserved ranges, max32_alloc_size, and the per-CPU range caches (LIFO, magazine swap, depot).
/// </summary>
[TestClass]
public sealed class IovaDomainTests
{
    private const ulong Top = 0xfffff; // last pfn below 4 GiB with 4 KiB granules

    private static IovaDomain Domain(int cpus = 2, ulong startPfn = 1) =>
        new(4096, startPfn, cpus, KernelDefaults.Linux612, new JiffyClock(250, 0));

    [TestMethod]
    public void AllocationsGoTopDownAndAreSizeAligned()
    {
        var d = Domain();
        Assert.AreEqual(0x100000UL, d.Dma32BitPfn);
        Assert.AreEqual(Top, d.AllocIova(1, Top, true));
        Assert.AreEqual(0xffffeUL, d.AllocIova(1, Top, true));
        // 4 granules, aligned to 4: (0xffffe − 4) & ~3
        Assert.AreEqual(0xffff8UL, d.AllocIova(4, Top, true));
        // 3 granules aligned to 4 (roundup_pow_of_two), not rounded in size by alloc_iova itself
        Assert.AreEqual(0xffff4UL, d.AllocIova(3, Top, true));
        Assert.AreEqual(0xffff3UL, d.AllocIova(1, Top, true), "the granule left above the 3-granule range is not reached: the walk continues below");
        Assert.AreEqual(0xffff2UL, d.AllocIova(1, Top, false));
        Assert.AreEqual(0xfff00UL, d.AllocIova(0x80, Top, true), "128 granules aligned to 128");
        Assert.AreEqual(0xfff00UL, d.Cached32Lo);
        Assert.IsTrue(d.CachedIsAnchor, "64-bit cache untouched by 32-bit allocations");
    }

    [TestMethod]
    public void AFreeAtOrAboveTheCachedNodeMovesItToTheNextNode()
    {
        var d = Domain();
        ulong a = d.AllocIova(1, Top, true), b = d.AllocIova(1, Top, true), c = d.AllocIova(1, Top, true);
        Assert.AreEqual((Top, Top - 1, Top - 2), (a, b, c));
        Assert.IsTrue(d.FreeIova(b));
        Assert.AreEqual(a, d.Cached32Lo, "rb_next(b)");
        Assert.AreEqual(b, d.AllocIova(1, Top, true), "the hole below the cached node is found first");
        Assert.IsTrue(d.FreeIova(c)); // c is below the cached node (b now): the cache stays
        Assert.AreEqual(b, d.Cached32Lo);
        Assert.AreEqual(c, d.AllocIova(1, Top, true));
        Assert.IsFalse(d.FreeIova(0x12345), "nothing there");
    }

    [TestMethod]
    public void ReservedRangesAreSkippedAndAFailureSetsMax32AllocSize()
    {
        var d = Domain(startPfn: 0xffff0);
        d.ReserveIova(0xffff0, 0xffff7);
        d.ReserveIova(0xffffc, 0xffffd);
        d.ReserveIova(0xffffd, 0xffffe); // overlaps: the part above the existing node becomes a node of its own
        Assert.AreEqual(Top, d.AllocIova(1, Top, true));
        Assert.AreEqual(0xffffbUL, d.AllocIova(1, Top, true), "over the reserved 0xffffc–0xffffe");
        Assert.AreEqual(0xffff8UL, d.AllocIova(2, Top, true), "2 granules aligned to 2 below 0xffffb");
        Assert.AreEqual(0xffffaUL, d.AllocIova(1, Top, true), "retry pass: the space above the cached node");
        Assert.AreEqual(0UL, d.AllocIova(1, Top, true), "full");
        Assert.AreEqual(1UL, d.Max32AllocSize);
        Assert.IsTrue(d.FreeIova(0xffff8));
        Assert.AreEqual(d.Dma32BitPfn, d.Max32AllocSize, "a free below 4 GiB lifts the fast failure");
        Assert.AreEqual(0xffff9UL, d.AllocIova(1, Top, true));
        var reserved = d.Ranges.Where(r => r.Reserved).Select(r => (r.Lo, r.Hi)).ToList();
        CollectionAssert.AreEqual(new[] { (0xffff0UL, 0xffff7UL), (0xffffcUL, 0xffffdUL), (0xffffeUL, 0xffffeUL) }, reserved);
        d.ReserveIova(0xfffee, 0xffff1); // below and into the first: that node widens down
        Assert.AreEqual((0xfffeeUL, 0xffff7UL), d.Ranges.Where(r => r.Reserved).Select(r => (r.Lo, r.Hi)).First());
    }

    [TestMethod]
    public void TheRangeCacheReturnsTheMostRecentlyFreedRangeOfThatOrderOnThatCpu()
    {
        var d = Domain();
        ulong a = d.AllocIovaFast(1, Top, true, 0, out bool hit), b = d.AllocIovaFast(1, Top, true, 0, out _), c = d.AllocIovaFast(1, Top, true, 0, out _);
        Assert.IsFalse(hit);
        d.FreeIovaFast(a, 1, 0);
        d.FreeIovaFast(c, 1, 0);
        Assert.AreEqual(c, d.AllocIovaFast(1, Top, true, 0, out hit));
        Assert.IsTrue(hit);
        Assert.AreEqual(Top - 3, d.AllocIovaFast(1, Top, true, 1, out hit), "CPU 1's cache is empty: the tree");
        Assert.IsFalse(hit);
        Assert.AreEqual(a, d.AllocIovaFast(1, Top, true, 0, out _));
        // 3 granules are rounded to 4: order 2, freed with the unrounded size to the same order
        ulong r = d.AllocIovaFast(3, Top, true, 0, out _);
        Assert.AreEqual(0UL, r & 3);
        d.FreeIovaFast(r, 3, 0);
        Assert.AreEqual(r, d.AllocIovaFast(4, Top, true, 0, out hit));
        Assert.IsTrue(hit);
        // a cached range above the limit is not used: the tree serves it
        d.FreeIovaFast(b, 1, 0);
        Assert.AreNotEqual(b, d.AllocIovaFast(1, b - 1, true, 0, out hit));
        Assert.IsFalse(hit);
        // 64 granules and more are never cached
        ulong big = d.AllocIovaFast(64, Top, true, 0, out _);
        d.FreeIovaFast(big, 64, 0);
        Assert.IsFalse(d.Ranges.Any(x => x.Lo == big), "freed straight to the tree");
    }

    [TestMethod]
    public void AFullLoadedMagazineSwapsWithPrevThenGoesToTheDepot()
    {
        var d = Domain(cpus: 1, startPfn: 0x1000);
        var pfns = Enumerable.Range(0, 127 * 3 + 1).Select(_ => d.AllocIova(1, Top, true)).ToList();
        for (int i = 0; i < 128; i++) d.FreeIovaFast(pfns[i], 1, 0);
        var order0 = d.Rcaches.Order(0).Cpus[0];
        Assert.AreEqual((1, 127), (order0.Loaded.Size, order0.Prev.Size), "the 128th free swapped loaded and prev");
        Assert.AreEqual(pfns[127], d.AllocIovaFast(1, Top, true, 0, out _));
        Assert.AreEqual(pfns[126], d.AllocIovaFast(1, Top, true, 0, out _), "loaded empty: prev swapped in, its top popped");
        d.FreeIovaFast(pfns[127], 1, 0);
        d.FreeIovaFast(pfns[126], 1, 0);
        d.NowNs = 1_000_000_000;
        for (int i = 128; i < pfns.Count; i++) d.FreeIovaFast(pfns[i], 1, 0);
        Assert.AreEqual(2, d.Rcaches.Order(0).Depot.Count, "two full magazines pushed to the depot");
        Assert.AreEqual(1_000_000_000 + 100_000_000, d.NextWorkDue, "IOVA_DEPOT_DELAY after the first push (25 jiffies)");
        d.RunDueWork(d.NextWorkDue);
        Assert.AreEqual(1, d.Rcaches.Order(0).Depot.Count, "trimmed to the number of online CPUs");
        Assert.AreEqual(1L, d.Rcaches.DepotTrims);
        Assert.AreEqual(127 * 2 + 1, d.Ranges.Count(r => !r.Reserved), "the trimmed magazine's ranges went back to the tree");
        Assert.AreEqual(1_200_000_000, d.NextWorkDue, "rescheduled; the next run finds nothing to trim");
        d.RunDueWork(d.NextWorkDue);
        Assert.AreEqual(long.MaxValue, d.NextWorkDue);
        // loaded and prev drained, then the depot's magazine is loaded
        var cpu = d.Rcaches.Order(0).Cpus[0];
        int cached = cpu.Loaded.Size + cpu.Prev.Size;
        for (int i = 0; i < cached; i++) d.AllocIovaFast(1, Top, true, 0, out _);
        Assert.AreEqual(1, d.Rcaches.Order(0).Depot.Count);
        d.AllocIovaFast(1, Top, true, 0, out bool hit);
        Assert.IsTrue(hit);
        Assert.AreEqual(0, d.Rcaches.Order(0).Depot.Count);
    }

    [TestMethod]
    public void AFailedAllocationFlushesTheCachesAndRetries()
    {
        var d = Domain(cpus: 2, startPfn: 0xffffe);
        ulong a = d.AllocIovaFast(1, Top, true, 0, out _), b = d.AllocIovaFast(1, Top, true, 0, out _);
        d.FreeIovaFast(a, 1, 1);
        d.FreeIovaFast(b, 1, 1);
        Assert.AreEqual(0UL, d.AllocIovaFast(2, Top, false, 0, out _), "no flush requested: fails");
        Assert.AreEqual(0xffffeUL, d.AllocIovaFast(2, Top, true, 0, out _), "CPU 1's cached ranges went back to the tree");
        Assert.AreEqual(1L, d.RcacheFlushes);
    }

    [TestMethod]
    public void JiffiesRoundTimersUpToTheNextTicks()
    {
        var clock = new JiffyClock(250, 0);
        Assert.AreEqual(3L, KernelDefaults.Linux612.MsecsToJiffies(10));
        Assert.AreEqual(25L, KernelDefaults.Linux612.MsecsToJiffies(100));
        Assert.AreEqual(12_000_000L, clock.Expiry(1_000_000, 3), "armed in jiffy 0: fires on the tick of jiffy 3");
        Assert.AreEqual(16_000_000L, clock.Expiry(4_000_000, 3));
        Assert.AreEqual(-1L, clock.Jiffies(-1));
    }
}
