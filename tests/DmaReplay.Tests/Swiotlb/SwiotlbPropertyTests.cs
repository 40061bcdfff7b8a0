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

    private sealed record Live(ulong Tlb, ulong Orig, ulong Size, BounceDevice Dev, int First, int Slots, ulong Align);

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
                        var l = new Live(r.TlbAddr, op.Orig, op.Size, dev, data - pad, r.Slots, align);
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
            Assert.AreEqual(expected, pool.List(i), $"list[{i}]");
        }
        // orig_addr and alloc_size of every slot, as swiotlb_search_pool_area and
        // swiotlb_tbl_map_single write them (free slots: INVALID_PHYS_ADDR and 0).
        var orig = Enumerable.Repeat(SwiotlbPool.InvalidPhysAddr, 512).ToArray();
        var allocSize = new ulong[512];
        foreach (var l in live)
        {
            ulong offset = l.Orig & l.Dev.MinAlignMask & (l.Align | 2047);
            ulong size = (l.Size + offset + l.Align) & ~l.Align;
            int pad = (int)(offset >> 11);
            for (int i = 0; i < l.Slots; i++) allocSize[l.First + i] = size - ((l.Orig & l.Dev.MinAlignMask & 2047) + ((ulong)i << 11));
            for (int i = pad; i < l.Slots; i++) orig[l.First + i] = l.Orig + ((ulong)(i - pad) << 11);
        }
        for (int i = 0; i < 512; i++)
        {
            Assert.AreEqual(orig[i], pool.OrigAddr(i), $"orig_addr[{i}]");
            Assert.AreEqual(allocSize[i], pool.AllocSize(i), $"alloc_size[{i}]");
        }
        int perArea = 512 / nareas;
        for (int a = 0; a < nareas; a++)
            Assert.AreEqual(used.Skip(a * perArea).Take(perArea).Count(u => u), pool.AreaUsed(a), $"area {a} used");
        Assert.AreEqual((long)used.Count(u => u), mem.Used);
    }

    /// <summary>
    /// A request no segment can hold (over 128 slots) fails after the kernel's loop walked the
    /// whole area: the counted steps equal that loop's iterations (swiotlb_search_pool_area, run
    /// here as written) for every cursor, alignment, min_align_mask and pool placement.
    /// </summary>
    [TestMethod]
    public void OversizedRequestStepsEqualTheKernelsWalk()
    {
        var k = KernelDefaults.Linux612;
        (from areasLog in Gen.Int[0, 3]
         from cursor in Gen.Int[0, 4095]
         from startPage in Gen.ULong[0x40000, 0x4ffff]
         from orig in Gen.ULong[0, 0xffff_ffff]
         from minAlign in Gen.Int[0, 3].Select(i => new[] { 0UL, 0xfffUL, 0x1fffUL, 0x3fffUL }[i])
         from allocAlign in Gen.Int[0, 2].Select(i => new[] { 0UL, 0xfffUL, 0x3fffUL }[i])
         select (areasLog, cursor, startPage, orig, minAlign, allocAlign)).Sample(c =>
        {
            int nareas = 1 << c.areasLog;
            var pool = new SwiotlbPool(c.startPage << 12, 4096, nareas, k);
            int areaNslabs = 4096 / nareas;
            int area = nareas - 1;
            // Move the area's cursor by a mapping and its release (the cursor stays where the mapping ended).
            long ignored = 0;
            int first = pool.SearchArea(area, 0, (ulong)(c.cursor % areaNslabs % 128 + 1) << 11, 0, 0, ulong.MaxValue, c.startPage << 12, ref ignored);
            Assert.IsGreaterThanOrEqualTo(0, first);
            pool.Release((c.startPage << 12) + ((ulong)first << 11), 0);

            ulong size = 129 * 2048;
            long steps = 0;
            Assert.AreEqual(-1, pool.SearchArea(area, c.orig, size, c.allocAlign, c.minAlign, ulong.MaxValue, c.startPage << 12, ref steps));
            Assert.AreEqual(KernelWalkSteps(pool.AreaIndex(area), area * areaNslabs, areaNslabs, c.startPage << 12, c.orig, size, c.allocAlign, c.minAlign), steps);
        }, iter: 300);
    }

    /// <summary>The 6.12 loop of swiotlb_search_pool_area for a request no free run can hold.</summary>
    private static long KernelWalkSteps(int index, int slotBase, int areaNslabs, ulong tblDma, ulong orig, ulong allocSize, ulong allocAlignMask, ulong minAlignMask)
    {
        ulong iotlbAlign = minAlignMask;
        if (allocAlignMask == 0 && iotlbAlign == 0 && allocSize >= 4096) allocAlignMask = 4095;
        allocAlignMask |= 2047;
        iotlbAlign &= ~allocAlignMask;
        int stride = (int)((Math.Max(allocAlignMask, iotlbAlign) >> 11) + 1);
        long steps = 0;
        for (int checkedSlots = 0; checkedSlots < areaNslabs;)
        {
            steps++;
            ulong tlbAddr = tblDma + ((ulong)(slotBase + index) << 11);
            if ((tlbAddr & allocAlignMask) != 0 || (orig != 0 && (tlbAddr & iotlbAlign) != (orig & iotlbAlign)))
            {
                index = index + 1 >= areaNslabs ? 0 : index + 1;
                checkedSlots++;
                continue;
            }
            index = index + stride >= areaNslabs ? 0 : index + stride;
            checkedSlots += stride;
        }
        return steps;
    }
}
