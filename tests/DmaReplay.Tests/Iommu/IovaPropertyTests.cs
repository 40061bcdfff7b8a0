using System.Numerics;
using CsCheck;
using DmaReplay.Engine;
using DmaReplay.Engine.Iommu;

namespace DmaReplay.Tests.Iommu;

/// <summary>
/// Random alloc_iova_fast / free_iova_fast sequences on several CPUs, limits and sizes, with
/// reserved ranges. After every call: no two live ranges overlap or touch a reserved range, each
/// lies within its limit and is aligned to its rounded size, and the tree holds exactly the live
/// ranges plus the ranges the caches hold (a brute-force recount of which IOVAs are free).
/// </summary>
[TestClass]
public sealed class IovaPropertyTests
{
    private const ulong Start = 0xff000; // 4096 granules below 4 GiB

    private sealed record Op(bool Alloc, int Cpu, ulong Size, int Limit, int Victim);

    private static readonly Gen<Op> GenOp =
        from alloc in Gen.Int[0, 9].Select(x => x < 6)
        from cpu in Gen.Int[0, 2]
        from big in Gen.Int[0, 7]
        from size in big == 0 ? Gen.ULong[33, 300] : Gen.ULong[1, 40]
        from limit in Gen.Int[0, 2]
        from victim in Gen.Int[0, 10_000]
        select new Op(alloc, cpu, size, limit, victim);

    private static readonly ulong[] Limits = [0xfffff, 0xff7ff, 0xffbff];

    [TestMethod]
    public void LiveRangesNeverOverlapAndTheTreeIsLiveRangesPlusCachedOnes()
    {
        GenOp.Array[50, 400].Sample(ops =>
        {
            var d = new IovaDomain(4096, Start, 3, KernelDefaults.Linux612, new JiffyClock(250, 0));
            (ulong Lo, ulong Hi)[] reserved = [(0xffa00, 0xffa3f), (0xffe00, 0xffe0f)];
            foreach (var (lo, hi) in reserved) d.ReserveIova(lo, hi);
            var live = new List<(ulong Pfn, ulong Size, ulong Rounded, ulong Limit)>();
            foreach (var op in ops)
            {
                if (op.Alloc || live.Count == 0)
                {
                    ulong limit = Limits[op.Limit];
                    ulong pfn = d.AllocIovaFast(op.Size, limit, true, op.Cpu, out _);
                    if (pfn == 0) continue;
                    ulong rounded = op.Size < 32 ? BitOperations.RoundUpToPowerOf2(op.Size) : op.Size;
                    live.Add((pfn, op.Size, rounded, limit));
                }
                else
                {
                    var v = live[op.Victim % live.Count];
                    live.Remove(v);
                    d.FreeIovaFast(v.Pfn, v.Size, op.Cpu);
                }
                Check(d, live, reserved);
            }
        }, iter: 300);
    }

    private static void Check(IovaDomain d, List<(ulong Pfn, ulong Size, ulong Rounded, ulong Limit)> live, (ulong Lo, ulong Hi)[] reserved)
    {
        var nodes = d.Ranges.Where(r => !r.Reserved).ToDictionary(r => r.Lo, r => r.Hi);
        var sorted = live.OrderBy(l => l.Pfn).ToList();
        for (int i = 0; i < sorted.Count; i++)
        {
            var l = sorted[i];
            Assert.IsTrue(nodes.TryGetValue(l.Pfn, out ulong hi), $"live range 0x{l.Pfn:x} is in the tree");
            ulong last = hi;
            Assert.IsTrue(last - l.Pfn + 1 >= l.Rounded, "the range is at least the rounded size");
            Assert.IsTrue(l.Pfn >= Start && l.Pfn + l.Rounded - 1 <= l.Limit, $"0x{l.Pfn:x}+{l.Rounded} within [start, 0x{l.Limit:x}]");
            Assert.AreEqual(0UL, l.Pfn & (BitOperations.RoundUpToPowerOf2(l.Rounded) - 1), "size aligned");
            Assert.IsFalse(reserved.Any(r => l.Pfn <= r.Hi && last >= r.Lo), "clear of reserved ranges");
            if (i > 0) Assert.IsTrue(sorted[i - 1].Pfn + sorted[i - 1].Rounded - 1 < l.Pfn, "no overlap");
        }
        var cached = d.CachedPfns.ToList();
        Assert.AreEqual(cached.Count, cached.Distinct().Count(), "a range is cached once");
        var expected = live.Select(l => l.Pfn).Concat(cached).OrderBy(p => p).ToList();
        CollectionAssert.AreEqual(expected, nodes.Keys.OrderBy(p => p).ToList(), "tree = live ∪ cached");
        ulong inTree = nodes.Aggregate(0UL, (s, n) => s + n.Value - n.Key + 1);
        Assert.AreEqual(inTree, d.PagesInTree);
    }
}
