using DmaReplay.Engine;
using DmaReplay.Engine.Pools;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Pools;

/// <summary>kernel/dma/coherent.c's bitmap regions and kernel/dma/pool.c's atomic pools (6.12), values from the source.</summary>
[TestClass]
public sealed class CoherentAndAtomicTests
{
    private static readonly KernelDefaults K = KernelDefaults.Linux612;

    [TestMethod]
    public void CoherentRegionsAreOrderAlignedFirstFit()
    {
        var m = new DevCoherentMem(0x8000_0000, 16 * 4096, 12);
        Assert.AreEqual(0x8000_0000UL, m.Alloc(4096), "order 0 at page 0");
        Assert.AreEqual(0x8000_2000UL, m.Alloc(8192), "order 1: page 1 is not 2-aligned, so pages 2–3");
        Assert.AreEqual(0x8000_1000UL, m.Alloc(100), "order 0 fills the hole at page 1");
        Assert.AreEqual(0x8000_4000UL, m.Alloc(3 * 4096), "get_order(12 KiB) = 2: 4 pages at page 4");
        Assert.AreEqual(0x8000_8000UL, m.Alloc(5 * 4096), "order 3 at page 8");
        Assert.IsNull(m.Alloc(4096), "all 16 pages taken");
        Assert.IsTrue(m.Release(0x8000_2000, 8192));
        Assert.AreEqual(0x8000_2000UL, m.Alloc(4096));
        Assert.IsNull(m.Alloc(17 * 4096), "larger than the area");
        Assert.IsFalse(m.Release(0x9000_0000, 4096), "not in the area: the caller frees elsewhere");
    }

    [TestMethod]
    public void GetOrderMatchesTheKernel()
    {
        Assert.AreEqual(0, DevCoherentMem.GetOrder(1, 12));
        Assert.AreEqual(0, DevCoherentMem.GetOrder(4096, 12));
        Assert.AreEqual(1, DevCoherentMem.GetOrder(4097, 12));
        Assert.AreEqual(2, DevCoherentMem.GetOrder(12288, 12));
        Assert.AreEqual(6, DevCoherentMem.GetOrder(216 << 10, 12));
    }

    [TestMethod]
    public void DefaultSizeIs128KiBPerGiBClampedAndTheFirstChunkIsAPowerOfTwo()
    {
        Assert.AreEqual(512UL << 10, AtomicPools.DefaultSize(4UL << 30, K), "4 GiB → 512 KiB");
        Assert.AreEqual(128UL << 10, AtomicPools.DefaultSize(512UL << 20, K), "at least 128 KiB");
        Assert.AreEqual(4UL << 20, AtomicPools.DefaultSize(1UL << 40, K), "at most MAX_ORDER_NR_PAGES (1024 pages)");
        // the real captures: 2 GiB guests, 1,794,852 KiB managed → 219 KiB → atomic_pool_expand rounds to order 6: "preallocated 256 KiB"
        var pools = new AtomicPools(AtomicPools.DefaultSize(1_794_852UL << 10, K), hasDmaZone: true, AtomicPools.DefaultExpandDelayNs, K);
        Assert.AreEqual(256UL << 10, pools.Pool(AtomicZone.Kernel)!.Size);
        Assert.AreEqual(256UL << 10, pools.Pool(AtomicZone.Dma)!.Size);
        Assert.AreEqual(256UL << 10, pools.Pool(AtomicZone.Dma32)!.Size);
    }

    [TestMethod]
    public void DmaGuessPoolOrder()
    {
        var p = new AtomicPools(512 << 10, hasDmaZone: true, AtomicPools.DefaultExpandDelayNs, K);
        Assert.AreEqual(AtomicZone.Dma32, p.Guess(null, GfpFlags.Atomic | GfpFlags.Dma32));
        Assert.AreEqual(AtomicZone.Dma, p.Guess(null, GfpFlags.Atomic | GfpFlags.Dma));
        Assert.AreEqual(AtomicZone.Kernel, p.Guess(null, GfpFlags.Atomic));
        Assert.AreEqual(AtomicZone.Dma32, p.Guess(AtomicZone.Kernel, 0));
        Assert.AreEqual(AtomicZone.Dma, p.Guess(AtomicZone.Dma32, 0));
        Assert.IsNull(p.Guess(AtomicZone.Dma, 0));
        var noDma = new AtomicPools(512 << 10, hasDmaZone: false, AtomicPools.DefaultExpandDelayNs, K);
        Assert.AreEqual(AtomicZone.Kernel, noDma.Guess(null, GfpFlags.Dma), "GFP_DMA without a DMA pool → kernel pool");
        Assert.IsNull(noDma.Guess(AtomicZone.Dma32, 0));
    }

    [TestMethod]
    public void AllocationsAreOrderAlignedAndFallBackThenTheWorkerGrowsThePool()
    {
        const long Ms = 1_000_000;
        var p = new AtomicPools(128 << 10, hasDmaZone: false, Ms, K); // 32 pages each
        var a = p.Alloc(4096, GfpFlags.Atomic, null, 0)!.Value;
        Assert.AreEqual((AtomicZone.Kernel, 0, 0UL), a);
        var b = p.Alloc(8192, GfpFlags.Atomic, null, 10)!.Value;
        Assert.AreEqual(8192UL, b.Offset, "2 pages at a multiple of 2 pages: 0x2000, not 0x1000");
        var c = p.Alloc(4096, GfpFlags.Atomic, null, 20)!.Value;
        Assert.AreEqual(4096UL, c.Offset, "first fit: the hole at page 1");
        var d = p.Alloc(120 << 10, GfpFlags.Atomic, null, 30)!.Value;
        Assert.AreEqual(AtomicZone.Dma32, d.Zone, "no 30 pages left in the kernel pool: dma32 next");
        Assert.AreEqual((AtomicZone.Kernel, 0, 64UL << 10), p.Alloc(64 << 10, GfpFlags.Atomic, null, 40), "16 pages at page 16");
        Assert.IsNull(p.Alloc(64 << 10, GfpFlags.Atomic, null, 50), "no 16-aligned run left in either pool before the worker: 'DMA pool exhausted'");
        var e = p.Alloc(64 << 10, GfpFlags.Atomic, null, Ms)!.Value;
        Assert.AreEqual(2L, p.Expansions, "the worker scheduled by the first allocation ran: both pools below atomic_pool_size grew");
        Assert.AreEqual(256UL << 10, p.Pool(AtomicZone.Kernel)!.Size, "atomic_pool_resize doubles: a chunk of gen_pool_size");
        Assert.AreEqual((AtomicZone.Kernel, 1, 0UL), e, "the new chunk is searched first");
    }
}
