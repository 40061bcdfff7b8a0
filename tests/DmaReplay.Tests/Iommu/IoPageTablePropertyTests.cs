using CsCheck;
using DmaReplay.Engine.Iommu;
using DmaReplay.Engine.Iommu.Hardware;

namespace DmaReplay.Tests.Iommu;

/// <summary>
/// The IO page table counts whole runs of 4 KiB leaves at once; a page-by-page reference
/// (__domain_mapping / dma_pte_clear_level one PTE at a time) must give the same tables, leaf
/// counts and walk depths for any sequence of maps and unmaps.
/// </summary>
[TestClass]
public sealed class IoPageTablePropertyTests
{
    private sealed class Reference(int levels)
    {
        public readonly Dictionary<(int, ulong), int> Tables = new() { [(levels, 0)] = 0 };
        public readonly HashSet<ulong> Large = [];
        public long Mapped, Cleared, Peak = 1;
        private static int Shift(int level) => 12 + 9 * level;

        public void Map(ulong iova, ulong paddr, ulong size)
        {
            ulong end = iova + size;
            bool known = paddr != IIommuPageTable.UnknownPaddr;
            while (iova < end)
            {
                if (known && ((iova | paddr) & 0x1fffff) == 0 && end - iova >= 0x200000)
                {
                    Add(iova, 2);
                    Large.Add(iova >> 21);
                    iova += 0x200000;
                    paddr += 0x200000;
                    continue;
                }
                Add(iova, 1);
                iova += 0x1000;
                if (known) paddr += 0x1000;
            }
            Peak = Math.Max(Peak, Tables.Count);
        }

        private void Add(ulong iova, int leaf)
        {
            Mapped++;
            for (int level = levels; level >= leaf; level--)
            {
                var key = (level, iova >> Shift(level));
                if (!Tables.TryGetValue(key, out int present))
                {
                    present = 0;
                    if (level < levels) Tables[(level + 1, iova >> Shift(level + 1))]++;
                }
                Tables[key] = level == leaf ? present + 1 : present;
            }
        }

        public void Unmap(ulong iova, ulong size)
        {
            ulong start = iova, end = iova + size;
            while (iova < end)
            {
                if (Large.Remove(iova >> 21))
                {
                    Remove(iova, 2);
                    iova = (iova & ~0x1fffffUL) + 0x200000;
                    continue;
                }
                Remove(iova, 1);
                iova += 0x1000;
            }
            for (int level = 1; level < levels; level++)
            {
                ulong span = 1UL << Shift(level);
                for (ulong s = (start + span - 1) & ~(span - 1); s + span <= end && s + span > s; s += span)
                {
                    if (!Tables.Remove((level, s >> Shift(level)))) continue;
                    Tables[(level + 1, s >> Shift(level + 1))]--;
                }
            }
        }

        private void Remove(ulong iova, int leaf)
        {
            var key = (leaf, iova >> Shift(leaf));
            if (!Tables.TryGetValue(key, out int present) || present <= 0) return;
            Tables[key] = present - 1;
            Cleared++;
        }
    }

    [TestMethod]
    public void RunsOfLeavesCountAsPageByPage()
    {
        var op = from map in Gen.Bool
                 from slot in Gen.ULong[0, 63]
                 from pages in Gen.Int[1, 1100]
                 from offsetPages in Gen.Int[0, 511]
                 from known in Gen.Bool
                 select (map, iova: (slot << 21) + ((ulong)offsetPages << 12), size: (ulong)pages << 12, known);
        op.Array[1, 40].Sample(ops =>
        {
            var pt = new IoPageTable(4);
            var reference = new Reference(4);
            foreach (var (map, iova, size, known) in ops)
            {
                ulong paddr = known ? iova + 0x4000_0000 : IIommuPageTable.UnknownPaddr;
                if (map)
                {
                    pt.Map(iova, paddr, size);
                    reference.Map(iova, paddr, size);
                }
                else
                {
                    pt.Unmap(iova, size);
                    reference.Unmap(iova, size);
                }
                Assert.AreEqual((long)reference.Tables.Count, pt.Pages, "table pages");
                Assert.AreEqual(reference.Peak, pt.PeakPages);
                Assert.AreEqual(reference.Mapped, pt.LeavesMapped);
                Assert.AreEqual(reference.Cleared, pt.LeavesCleared);
                Assert.AreEqual(reference.Large.Contains(iova >> 21), pt.IsLarge(iova));
            }
        }, iter: 200);
    }
}
