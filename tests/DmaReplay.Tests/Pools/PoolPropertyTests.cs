using CsCheck;
using DmaReplay.Engine;
using DmaReplay.Engine.Pools;

namespace DmaReplay.Tests.Pools;

/// <summary>The allocators against brute-force references: no overlap, alignment, boundaries, free-list order.</summary>
[TestClass]
public sealed class PoolPropertyTests
{
    private static readonly KernelDefaults K = KernelDefaults.Linux612;

    [TestMethod]
    public void DmaPoolBlocksNeverOverlapNorCrossTheBoundaryAndComeBackLifo()
    {
        var gen = from sizeLog in Gen.Int[0, 12]
                  from size in Gen.Int[1, 1 << sizeLog]
                  from alignLog in Gen.Int[0, 8]
                  from boundaryLog in Gen.Int[0, 14]
                  from ops in Gen.Int[0, 99].Array[1, 200]
                  select (size: (ulong)size, align: 1UL << alignLog, boundary: boundaryLog == 0 ? 0 : 1UL << boundaryLog, ops);
        gen.Sample(t =>
        {
            var pool = DmaPool.Create("p", t.size, t.align, t.boundary, K);
            ulong sz = Math.Max(t.size, 16), al = t.align, rounded = (sz + al - 1) / al * al;
            if (t.boundary != 0 && t.boundary < rounded)
            {
                Assert.IsNull(pool);
                return;
            }
            Assert.IsNotNull(pool);
            ulong b = pool.Boundary;
            var live = new HashSet<ulong>();
            var freed = new Stack<ulong>(); // reference: most recently freed first
            ulong nextPage = 0x10_0000;
            foreach (int op in t.ops)
            {
                if (op < 60 || live.Count == 0)
                {
                    if (pool.NextBlock is null)
                    {
                        pool.AddPage(nextPage);
                        nextPage += (pool.Allocation + 0xfff) & ~0xfffUL;
                        freed.Clear(); // the new page's blocks come first; the reference restarts from them
                    }
                    ulong? expected = freed.Count > 0 ? freed.Pop() : null;
                    ulong blk = pool.Alloc();
                    if (expected is { } e) Assert.AreEqual(e, blk, "LIFO");
                    ulong page = pool.PageOf(blk)!.Value, off = blk - page;
                    Assert.AreEqual(0UL, off % al, "aligned within the page");
                    Assert.AreEqual(off / b, (off + pool.Size - 1) / b, "no block crosses the boundary");
                    Assert.IsLessThanOrEqualTo(pool.Allocation, off + pool.Size);
                    foreach (ulong o in live) Assert.IsTrue(blk + pool.Size <= o || o + pool.Size <= blk, "no overlap");
                    live.Add(blk);
                }
                else
                {
                    ulong blk = live.ElementAt(op % live.Count);
                    live.Remove(blk);
                    Assert.AreEqual(DmaPoolFreeResult.Freed, pool.Free(blk));
                    freed.Push(blk);
                    Assert.AreEqual(blk, pool.NextBlock);
                }
            }
        }, iter: 300);
    }

    [TestMethod]
    public void CoherentBitmapMatchesABruteForceFirstFit()
    {
        var gen = Gen.Int[0, 99].Array[1, 100].Select(Gen.Int[1, 64], (ops, pages) => (ops, pages));
        gen.Sample(t =>
        {
            var m = new DevCoherentMem(0, (ulong)t.pages * 4096, 12);
            var used = new bool[t.pages];
            var live = new List<(ulong Addr, ulong Size)>();
            foreach (int op in t.ops)
            {
                if (op < 65 || live.Count == 0)
                {
                    ulong size = (ulong)(op % 9 + 1) * 3000;
                    int order = DevCoherentMem.GetOrder(size, 12), n = 1 << order;
                    int expect = -1;
                    for (int pos = 0; pos + n <= t.pages && size <= (ulong)t.pages * 4096; pos += n)
                    {
                        if (Enumerable.Range(pos, n).All(i => !used[i])) { expect = pos; break; }
                    }
                    var got = m.Alloc(size);
                    Assert.AreEqual(expect < 0 ? null : (ulong?)((ulong)expect * 4096), got);
                    if (got is { } a)
                    {
                        for (int i = expect; i < expect + n; i++) used[i] = true;
                        live.Add((a, size));
                    }
                }
                else
                {
                    var (a, size) = live[op % live.Count];
                    live.Remove((a, size));
                    Assert.IsTrue(m.Release(a, size));
                    int n = 1 << DevCoherentMem.GetOrder(size, 12);
                    for (int i = (int)(a / 4096); i < (int)(a / 4096) + n && i < t.pages; i++) used[i] = false;
                }
            }
        }, iter: 300);
    }

    [TestMethod]
    public void GenPoolFirstFitIsOrderAlignedAndNeverOverlaps()
    {
        var gen = Gen.Int[0, 99].Array[1, 150];
        gen.Sample(ops =>
        {
            var g = new GenPool(12);
            g.AddChunk(64 * 4096);
            var used = new bool[64];
            var live = new List<(ulong Off, ulong Size)>();
            foreach (int op in ops)
            {
                if (op < 60 || live.Count == 0)
                {
                    ulong size = (ulong)(op % 7 + 1) * 4096 - 100;
                    int nbits = (int)((size + 4095) / 4096), align = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)nbits);
                    int expect = -1;
                    for (int pos = 0; pos + nbits <= 64; pos += align)
                    {
                        if (Enumerable.Range(pos, nbits).All(i => !used[i])) { expect = pos; break; }
                    }
                    var got = g.Alloc(size);
                    Assert.AreEqual(expect < 0 ? null : (ulong?)((ulong)expect * 4096), got?.Offset);
                    if (got is { } r)
                    {
                        for (int i = expect; i < expect + nbits; i++) used[i] = true;
                        live.Add((r.Offset, size));
                    }
                }
                else
                {
                    var (off, size) = live[op % live.Count];
                    live.Remove((off, size));
                    g.Free(0, off, size);
                    for (int i = (int)(off / 4096); i < (int)(off / 4096) + (int)((size + 4095) / 4096); i++) used[i] = false;
                }
                Assert.AreEqual((ulong)used.Count(u => !u) * 4096, g.Avail);
            }
        }, iter: 300);
    }
}
