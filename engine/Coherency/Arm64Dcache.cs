namespace DmaReplay.Engine.Coherency;

/// <summary>
/// The data-cache instructions one range operation issues: <c>dc cvac</c> (clean to PoC),
/// <c>dc ivac</c> (invalidate) and <c>dc civac</c> (clean and invalidate), one per line each.
/// </summary>
public readonly record struct DcacheLines(long Clean, long Invalidate, long CleanInvalidate)
{
    public long Total => Clean + Invalidate + CleanInvalidate;
}

/// <summary>
/// The arm64 range operations of arch/arm64/mm/cache.S (6.12), line by line. The line size is
/// dcache_line_size (4 &lt;&lt; CTR_EL0.DminLine). Both loops are do-while: an empty range still
/// touches the line its start is in.
/// </summary>
public static class Arm64Dcache
{
    /// <summary>dcache_clean_poc: dcache_by_line_op cvac over [start aligned down, end).</summary>
    public static DcacheLines CleanPoc(ulong start, ulong size, ulong line) => new(ByLine(start, size, line), 0, 0);

    /// <summary>dcache_clean_inval_poc: dcache_by_line_op civac over [start aligned down, end).</summary>
    public static DcacheLines CleanInvalPoc(ulong start, ulong size, ulong line) => new(0, 0, ByLine(start, size, line));

    /// <summary>
    /// dcache_inval_poc: a partial line at the end (end not aligned) gets <c>dc civac</c>, then a
    /// partial line at the start gets <c>dc civac</c> too, so the neighbours' dirty data in them is
    /// written back rather than lost; every line from there below the aligned-down end gets
    /// <c>dc ivac</c> (an aligned start is invalidated even when the range ends in it).
    /// </summary>
    public static DcacheLines InvalPoc(ulong start, ulong size, ulong line)
    {
        ulong mask = line - 1;
        ulong end = start + size;
        long civac = 0, ivac = 0;
        if ((end & mask) != 0) civac++;
        end &= ~mask;
        ulong x = start & ~mask;
        if ((start & mask) != 0)
        {
            civac++;
            x += line;
            if (x >= end) return new(0, 0, civac);
        }
        // label 2: ivac, add, cmp, b.lo — at least once
        ivac = 1;
        x += line;
        if (x < end) ivac += (long)((end - x + mask) / line);
        return new(0, ivac, civac);
    }

    /// <summary>dcache_by_line_op: lines from start aligned down while below end, at least one.</summary>
    private static long ByLine(ulong start, ulong size, ulong line)
    {
        ulong first = start & ~(line - 1);
        ulong end = start + size;
        return end <= first + line ? 1 : (long)((end - first + line - 1) / line);
    }
}
