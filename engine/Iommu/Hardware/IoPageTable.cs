using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DmaReplay.Engine.Iommu.Hardware;

/// <summary>
/// An x86 VT-d style IO page table, 4 levels by default (drivers/iommu/intel/iommu.c: pfn_to_dma_pte,
/// dma_pte_clear_level): 4 KiB table pages of 512 entries, 4 KiB leaves at level 1 and 2 MiB
/// superpages at level 2 when the IOVA and the paddr are 2 MiB aligned and 2 MiB remain
/// (hardware_largepage_caps). Only the table pages are kept (per level, by the IOVA bits above
/// them) with the count of their present entries, so memory grows with live mappings. A table
/// page is freed only when an unmap range covers its whole span, as dma_pte_clear_level frees
/// the tables the range fully covers; a table a 4 KiB unmap empties stays; the root stays.
/// </summary>
public sealed class IoPageTable
{
    public const int PageShift = 12, LargeShift = 21, LevelBits = 9;

    /// <summary>
    /// The levels a domain's table has for an address width: agaw_to_level(width_to_agaw(width))
    /// of drivers/iommu/intel/iommu.h — 39 bits: 3, 48: 4, 57: 5 (VT-d has no fewer than 3).
    /// </summary>
    public static int LevelsFor(ulong apertureEnd)
    {
        int bits = 64 - System.Numerics.BitOperations.LeadingZeroCount(apertureEnd);
        return Math.Clamp((bits - PageShift + LevelBits - 1) / LevelBits, 3, 5);
    }

    public int Levels { get; }

    /// <summary>Present entries per table page, key (level, iova >> shift of the span it maps).</summary>
    private readonly Dictionary<(int Level, ulong Index), int> _tables = new();
    /// <summary>2 MiB leaves by IOVA >> 21.</summary>
    private readonly HashSet<ulong> _large = [];

    public IoPageTable(int levels = 4)
    {
        Levels = levels;
        _tables[(Levels, 0)] = 0;
    }

    /// <summary>Table pages allocated now (the root included): the page-table memory in 4 KiB pages.</summary>
    public long Pages => _tables.Count;
    public long PeakPages { get; private set; } = 1;
    public long LargeMaps { get; private set; }
    /// <summary>Leaf entries written (4 KiB pages and 2 MiB blocks) and cleared so far: the PTE updates the cost model prices.</summary>
    public long LeavesMapped { get; private set; }
    public long LeavesCleared { get; private set; }

    private static int SpanShift(int level) => PageShift + LevelBits * level; // a level-L table maps 2^(12+9L) bytes

    /// <summary>Whether the page at <paramref name="iova"/> is mapped by a 2 MiB leaf.</summary>
    public bool IsLarge(ulong iova) => _large.Count != 0 && _large.Contains(iova >> LargeShift);

    /// <summary>Walk depth to the leaf: a table read per level for a 4 KiB page, one fewer for a 2 MiB one.</summary>
    public int WalkLevels(ulong iova) => IsLarge(iova) ? Levels - 1 : Levels;

    /// <summary>intel_iommu_map → __domain_mapping: the leaves of [iova, iova + size), large where alignment allows.</summary>
    public void Map(ulong iova, ulong paddr, ulong size)
    {
        const ulong large = 1UL << LargeShift, page = 1UL << PageShift;
        ulong end = iova + size;
        bool physKnown = paddr != IIommuPageTable.UnknownPaddr;
        while (iova < end)
        {
            if (physKnown && ((iova | paddr) & (large - 1)) == 0 && end - iova >= large)
            {
                Add(iova, leafLevel: 2);
                _large.Add(iova >> LargeShift);
                LargeMaps++;
                iova += large;
                paddr += large;
                continue;
            }
            // 4 KiB leaves up to the next 2 MiB boundary (or the end): one level-1 table, counted at once.
            // (Only a 2 MiB-aligned page can start a 2 MiB leaf, and the run stops before the next one.)
            ulong runEnd = Math.Min(end, (iova & ~(large - 1)) + large);
            int pages = (int)((runEnd - iova + page - 1) >> PageShift);
            Add(iova, leafLevel: 1, pages);
            iova += (ulong)pages << PageShift;
            if (physKnown) paddr += (ulong)pages << PageShift;
        }
        PeakPages = Math.Max(PeakPages, Pages);
    }

    /// <summary>Makes the tables down to <paramref name="leafLevel"/> and counts <paramref name="leaves"/> leaves (all in one table) in it.</summary>
    private void Add(ulong iova, int leafLevel, int leaves = 1)
    {
        LeavesMapped += leaves;
        for (int level = Levels; level >= leafLevel; level--)
        {
            ref int present = ref CollectionsMarshal.GetValueRefOrAddDefault(_tables, (level, iova >> SpanShift(level)), out bool exists);
            if (level == leafLevel) present += leaves;
            if (!exists && level < Levels) _tables[(level + 1, iova >> SpanShift(level + 1))]++; // the parent's entry pointing here
        }
    }

    /// <summary>intel_iommu_unmap → dma_pte_clear_level: leaves cleared, the tables the range covers whole freed.</summary>
    public void Unmap(ulong iova, ulong size)
    {
        const ulong large = 1UL << LargeShift, page = 1UL << PageShift;
        ulong start = iova, end = iova + size;
        while (iova < end)
        {
            if (_large.Remove(iova >> LargeShift))
            {
                Remove(iova, leafLevel: 2);
                iova = (iova & ~(large - 1)) + large;
                continue;
            }
            // 4 KiB leaves up to the next 2 MiB boundary, the next 2 MiB leaf or the end: one level-1 table.
            ulong runEnd = Math.Min(end, (iova & ~(large - 1)) + large);
            int pages = (int)((runEnd - iova + page - 1) >> PageShift);
            Remove(iova, leafLevel: 1, pages);
            iova += (ulong)pages << PageShift;
        }
        for (int level = 1; level < Levels; level++)
        {
            ulong span = 1UL << SpanShift(level);
            for (ulong s = (start + span - 1) & ~(span - 1); s + span <= end && s + span > s; s += span)
            {
                if (!_tables.Remove((level, s >> SpanShift(level)))) continue;
                _tables[(level + 1, s >> SpanShift(level + 1))]--;
            }
        }
    }

    /// <summary>Clears up to <paramref name="leaves"/> present leaves of one table.</summary>
    private void Remove(ulong iova, int leafLevel, int leaves = 1)
    {
        ref int present = ref CollectionsMarshal.GetValueRefOrNullRef(_tables, (leafLevel, iova >> SpanShift(leafLevel)));
        if (Unsafe.IsNullRef(ref present) || present <= 0) return;
        int cleared = Math.Min(leaves, present);
        present -= cleared;
        LeavesCleared += cleared;
    }
}
