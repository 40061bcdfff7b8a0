using CsCheck;
using DmaReplay.Engine;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Swiotlb;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Swiotlb;

/// <summary>
/// Random map/unmap sequences on the SWIOTLB model. After every call its bookkeeping equals a
/// brute-force recount (a free slot's list = the free slots from it to the first used slot or
/// the segment end; used counts per area), and every returned slot obeys the rules: alignment,
/// the device's min_align_mask bits, inside one segment and one area, no overlap.
/// </summary>
[TestClass]
public sealed class SwiotlbPropertyTests
{
    private const ulong Start = 0x4000_0000;

    private sealed record Op(bool Map, int Cpu, ulong Orig, ulong Size, bool Nvme, bool Granule, int Victim);

    private static readonly Gen<Op> GenOp =
        from map in Gen.Int[0, 9].Select(x => x < 6)
        from cpu in Gen.Int[0, 7]
        from page in Gen.ULong[0x1000, 0xfffff]
        from low in Gen.ULong[0, 0xfff]
        from big in Gen.Int[0, 9]
        from size in big == 0 ? Gen.ULong[64 * 1024, 260 * 1024] : Gen.ULong[1, 16 * 1024]
        from nvme in Gen.Bool
        from granule in Gen.Int[0, 4].Select(x => x == 0)
        from victim in Gen.Int[0, 1000]
        select new Op(map, cpu, (page << 12) | low, size, nvme, granule, victim);

    private sealed record Live(ulong Tlb, ulong Orig, ulong Size, BounceDevice Dev, int First, int Slots);

    [TestMethod]
    public void BookkeepingAndPlacementRulesHoldForRandomSequences()
    {
        Gen.Select(Gen.Int[0, 2], GenOp.Array[50, 250]).Sample((areasLog, ops) =>
        {
            int nareas = 1 << areasLog;
            var k = KernelDefaults.Linux612;
            var mem = new SwiotlbMem(new SwiotlbConfig { Start = Start, Nslabs = 512, Nareas = nareas, Force = true }, k);
            var pool = mem.DefaultPool;
            var live = new List<Live>();
            foreach (var op in ops)
            {
                if (!op.Map && live.Count > 0)
                {
                    var v = live[op.Victim % live.Count];
                    live.Remove(v);
                    Assert.IsTrue(mem.Unmap(v.Dev, v.Tlb, v.Size, DmaDirection.FromDevice, DmaAttrs.None));
                }
                else
                {
                    var dev = op.Nvme ? new BounceDevice(0xfff, 0xffff_ffff) : new BounceDevice(0, ulong.MaxValue);
                    ulong align = op.Granule ? 0xfffUL : 0;
                    var r = mem.Map(dev, op.Orig, op.Size, align, op.Cpu, pa => pa);
                    if (r.Ok)
                    {
                        ulong offset = op.Orig & dev.MinAlignMask & (align | 2047);
                        int pad = (int)(offset >> 11);
                        int data = (int)((r.TlbAddr - Start) >> 11);
                        var l = new Live(r.TlbAddr, op.Orig, op.Size, dev, data - pad, r.Slots);
                        CheckPlacement(l, align, nareas, pool.AreaNslabs);
                        Assert.IsFalse(live.Any(o => o.First < l.First + l.Slots && l.First < o.First + o.Slots), "no two mappings share a slot");
                        live.Add(l);
                    }
                    else
                    {
                        // An empty pool fits anything up to swiotlb_max_mapping_size (256 KiB less the min_align_mask
                        // rounding: a segment's first slot may not match the buffer's bit 11), less a granule of pad slots.
                        Assert.IsTrue(op.Size + 8192 > 128 * 2048 || FreeSlots(live) < 512, "a failure needs a fuller pool or a mapping near 256 KiB");
                    }
                }
                CheckBookkeeping(pool, live, nareas, mem);
            }
        }, iter: 150);
    }

    private static int FreeSlots(List<Live> live) => 512 - live.Sum(l => l.Slots);

    private static void CheckPlacement(Live l, ulong align, int nareas, int areaNslabs)
    {
        ulong firstAddr = Start + ((ulong)l.First << 11);
        Assert.AreEqual(l.Orig & l.Dev.MinAlignMask, l.Tlb & l.Dev.MinAlignMask, "min_align_mask bits of the buffer are kept");
        if (align != 0) Assert.AreEqual(0UL, firstAddr & align, "the allocation starts aligned to alloc_align_mask");
        if (align == 0 && l.Dev.MinAlignMask == 0 && l.Size >= 4096) Assert.AreEqual(0UL, l.Tlb & 0xfff, "page-sized mappings are page aligned");
        Assert.AreEqual(l.First / 128, (l.First + l.Slots - 1) / 128, "inside one 128-slot segment");
        Assert.AreEqual(l.First / areaNslabs, (l.First + l.Slots - 1) / areaNslabs, "inside one area");
        Assert.IsTrue(l.First + l.Slots <= 512);
    }

    private static void CheckBookkeeping(SwiotlbPool pool, List<Live> live, int nareas, SwiotlbMem mem)
    {
        var used = new bool[512];
        foreach (var l in live)
        {
            for (int i = l.First; i < l.First + l.Slots; i++) used[i] = true;
        }
        for (int i = 0; i < 512; i++)
        {
            int expected = 0;
            if (!used[i])
            {
                int end = (i / 128 + 1) * 128;
                while (i + expected < end && !used[i + expected]) expected++;
            }
            Assert.AreEqual(expected, pool.SlotAt(i).List, $"list[{i}]");
        }
        int perArea = 512 / nareas;
        for (int a = 0; a < nareas; a++)
            Assert.AreEqual(used.Skip(a * perArea).Take(perArea).Count(u => u), pool.AreaUsed(a), $"area {a} used");
        Assert.AreEqual((long)used.Count(u => u), mem.Used);
    }
}
