using DmaReplay.Engine;
using DmaReplay.Engine.Pools;

namespace DmaReplay.Tests.Pools;

/// <summary>mm/dmapool.c (6.12): creation rounding, block layout per page, free-list order, debug checks — values worked out from the source.</summary>
[TestClass]
public sealed class DmaPoolTests
{
    private static readonly KernelDefaults K = KernelDefaults.Linux612;
    private const ulong Page = 0x1234_5000;

    [TestMethod]
    public void Size64Align64OnAPageGivesSixtyFourBlocksFromOffsetZero()
    {
        var p = DmaPool.Create("buffer-64", 64, 64, 4096, K)!;
        Assert.AreEqual((64UL, 4096UL, 4096UL), (p.Size, p.Allocation, p.Boundary));
        var offsets = DmaPool.BlockOffsets(p.Size, p.Allocation, p.Boundary).ToList();
        Assert.HasCount(64, offsets);
        CollectionAssert.AreEqual(Enumerable.Range(0, 64).Select(i => (ulong)i * 64).ToList(), offsets);
        p.AddPage(Page);
        Assert.AreEqual(Page, p.Alloc(), "the first alloc returns offset 0");
        Assert.AreEqual(Page + 64, p.Alloc());
        Assert.AreEqual(Page + 128, p.Alloc());
        Assert.AreEqual(Page + 192, p.Alloc());
        Assert.AreEqual(DmaPoolFreeResult.Freed, p.Free(Page + 128));
        Assert.AreEqual(Page + 128, p.Alloc(), "pool_block_push puts the freed block at the head: LIFO");
        Assert.AreEqual(Page + 256, p.Alloc(), "then the page's remaining blocks in ascending order");
    }

    [TestMethod]
    public void CreateRoundsAsTheKernelDoes()
    {
        var small = DmaPool.Create("s", 4, 0, 0, K)!;
        Assert.AreEqual(16UL, small.Size, "at least sizeof(struct dma_block)");
        Assert.AreEqual(4096UL, small.Boundary, "boundary 0 → allocation");
        var odd = DmaPool.Create("o", 100, 32, 0, K)!;
        Assert.AreEqual(128UL, odd.Size, "ALIGN(size, align)");
        var big = DmaPool.Create("b", 5000, 8, 0, K)!;
        Assert.AreEqual((5000UL, 5000UL), (big.Size, big.Allocation), "allocation = max(size, PAGE_SIZE)");
        Assert.AreEqual(1024UL, DmaPool.Create("c", 64, 64, 1024, K)!.Boundary);
        Assert.AreEqual(4096UL, DmaPool.Create("d", 64, 64, 65536, K)!.Boundary, "boundary = min(boundary, allocation)");
        Assert.IsNull(DmaPool.Create("e", 64, 48, 0, K), "align not a power of two");
        Assert.IsNull(DmaPool.Create("f", 0, 8, 0, K), "size 0");
        Assert.IsNull(DmaPool.Create("g", 128, 8, 64, K), "boundary below size");
        Assert.IsNull(DmaPool.Create("h", 64, 8, 96, K), "boundary not a power of two");
    }

    [TestMethod]
    public void Size24Align8Boundary64PlacesNoBlockAcrossA64ByteBoundary()
    {
        var p = DmaPool.Create("td", 24, 8, 64, K)!;
        var offsets = DmaPool.BlockOffsets(p.Size, p.Allocation, p.Boundary).ToList();
        // pool_initialise_page: 0, 24; 48+24 > 64 → 64, 88; 112+24 > 128 → 128, …: two blocks per 64 bytes
        CollectionAssert.AreEqual(new ulong[] { 0, 24, 64, 88, 128, 152 }, offsets.Take(6).ToList());
        Assert.HasCount(128, offsets);
        Assert.IsTrue(offsets.All(o => o / 64 == (o + 23) / 64));
    }

    [TestMethod]
    public void XhciContextsFitOneBlockPerPage()
    {
        // xhci-mem.c "xHCI input/output contexts": 2112 bytes, align 64, boundary PAGE_SIZE
        var p = DmaPool.Create("xHCI input/output contexts", 2112, 64, 4096, K)!;
        CollectionAssert.AreEqual(new ulong[] { 0 }, DmaPool.BlockOffsets(p.Size, p.Allocation, p.Boundary).ToList());
    }

    [TestMethod]
    public void ANewPagesBlocksComeBeforeTheOlderFreeBlocks()
    {
        var p = DmaPool.Create("x", 2048, 2048, 0, K)!;
        p.AddPage(0x1000);
        Assert.AreEqual(0x1000UL, p.Alloc());
        Assert.AreEqual(0x1800UL, p.Alloc());
        Assert.IsNull(p.NextBlock, "full: dma_pool_alloc needs a page");
        p.AddPage(0x9000);
        Assert.AreEqual(DmaPoolFreeResult.Freed, p.Free(0x1800));
        CollectionAssert.AreEqual(new ulong[] { 0x1800, 0x9000, 0x9800 }, p.FreeList().ToList());
        CollectionAssert.AreEqual(new ulong[] { 0x9000, 0x1000 }, p.PageList.ToList(), "page_list: newest first");
        Assert.AreEqual((2L, 4L, 1L), ((long)p.Pages, p.Blocks, p.Active));
    }

    [TestMethod]
    public void DebugChecksFindDoubleFreesAndForeignAddresses()
    {
        var p = DmaPool.Create("x", 64, 64, 0, K)!;
        p.AddPage(Page);
        ulong a = p.Alloc();
        Assert.AreEqual(DmaPoolFreeResult.Freed, p.Free(a));
        Assert.AreEqual(DmaPoolFreeResult.AlreadyFree, p.Free(a), "dma_pool_free %s, dma %pad already free");
        Assert.AreEqual(DmaPoolFreeResult.BadDma, p.Free(Page + 4096), "(bad dma): no page holds it");
        Assert.AreEqual(0L, p.Active);
    }
}
