namespace DmaReplay.Engine.Cost;

/// <summary>
/// A fixed log-bucket histogram of non-negative integers (ns per call): values below 16 have a
/// bucket each, above that every power of two is split into 8 buckets (12.5% resolution), up to
/// 2^63. Count, total, min and max are exact; a percentile is the highest value of the bucket the
/// nearest rank falls in, clamped to [min, max]. Fixed arrays: recording allocates nothing and
/// the result depends only on the values, not their order.
/// </summary>
public sealed class LogHistogram
{
    private const int Exact = 16, SubBits = 3, Sub = 1 << SubBits;
    public const int Buckets = Exact + (63 - 4) * Sub;

    private readonly long[] _counts = new long[Buckets];

    public long Count { get; private set; }
    public long Total { get; private set; }
    public long Min { get; private set; } = long.MaxValue;
    public long Max { get; private set; }

    public static int BucketOf(long v)
    {
        if (v < Exact) return (int)Math.Max(0, v);
        int e = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)v); // ≥ 4
        int sub = (int)(v >> (e - SubBits)) & (Sub - 1);
        return Exact + (e - 4) * Sub + sub;
    }

    /// <summary>The highest value that falls in <paramref name="bucket"/>.</summary>
    public static long UpperBound(int bucket)
    {
        if (bucket < Exact) return bucket;
        int e = (bucket - Exact) / Sub + 4, sub = (bucket - Exact) % Sub;
        long lo = (1L << e) + ((long)sub << (e - SubBits));
        return lo + (1L << (e - SubBits)) - 1;
    }

    public void Record(long v)
    {
        if (v < 0) v = 0;
        _counts[BucketOf(v)]++;
        Count++;
        Total += v;
        if (v < Min) Min = v;
        if (v > Max) Max = v;
    }

    /// <summary>The nearest-rank percentile <paramref name="p"/> (0–100); 0 when empty.</summary>
    public long Percentile(double p)
    {
        if (Count == 0) return 0;
        long rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * Count));
        long seen = 0;
        for (int b = 0; b < Buckets; b++)
        {
            seen += _counts[b];
            if (seen >= rank) return Math.Clamp(UpperBound(b), Min, Max);
        }
        return Max;
    }

    public CostDistribution Summary() => Count == 0
        ? new CostDistribution(0, 0, 0, 0, 0, 0, 0)
        : new CostDistribution(Count, Total, Min, Percentile(50), Percentile(90), Percentile(99), Max);
}
