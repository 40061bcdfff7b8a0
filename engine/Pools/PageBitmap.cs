namespace DmaReplay.Engine.Pools;

/// <summary>
/// A bitmap of allocation units with the lib/bitmap.c searches the DMA allocators use:
/// bitmap_find_free_region (coherent.c) and bitmap_find_next_zero_area (genalloc's first fit).
/// </summary>
public sealed class PageBitmap(int bits)
{
    private readonly bool[] _set = new bool[bits];

    public int Bits => bits;
    public int SetCount { get; private set; }
    public bool this[int i] => _set[i];

    /// <summary>
    /// bitmap_find_free_region: the first 2^order-aligned run of 2^order clear bits, scanning
    /// positions 0, 2^order, 2·2^order, … while the run fits; marks it. -1 when none.
    /// </summary>
    public int FindFreeRegion(int order)
    {
        int n = 1 << order;
        for (int pos = 0; pos + n <= bits; pos += n)
        {
            if (!IsClear(pos, n)) continue;
            SetRange(pos, n, true);
            return pos;
        }
        return -1;
    }

    /// <summary>bitmap_release_region: clears the 2^order bits at <paramref name="pos"/>.</summary>
    public void ReleaseRegion(int pos, int order) => SetRange(pos, Math.Min(1 << order, bits - pos), false);

    /// <summary>
    /// bitmap_find_next_zero_area (align_offset 0): the first run of <paramref name="nr"/> clear
    /// bits from <paramref name="start"/> whose index is a multiple of align_mask + 1. A result
    /// past <c>Bits - nr</c> means none (the kernel returns end &gt; size).
    /// </summary>
    public int FindNextZeroArea(int start, int nr, int alignMask)
    {
        while (true)
        {
            int index = start;
            while (index < bits && _set[index]) index++;
            index = (index + alignMask) & ~alignMask;
            int end = index + nr;
            if (end > bits) return end;
            int i = index;
            while (i < end && !_set[i]) i++;
            if (i == end) return index;
            start = i + 1;
        }
    }

    public bool IsClear(int pos, int n)
    {
        for (int i = pos; i < pos + n; i++)
        {
            if (_set[i]) return false;
        }
        return true;
    }

    public void SetRange(int pos, int n, bool value)
    {
        for (int i = pos; i < pos + n; i++)
        {
            if (_set[i] != value) SetCount += value ? 1 : -1;
            _set[i] = value;
        }
    }
}
