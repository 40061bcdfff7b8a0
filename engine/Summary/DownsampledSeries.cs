namespace DmaReplay.Engine.Summary;

/// <summary>
/// A time series of a level (live mappings, slots in use) in a fixed number of buckets, each
/// holding the maximum and the minimum level within it. When time runs past the last bucket, neighbouring
/// buckets merge and the width doubles, so memory stays constant whatever the trace length and
/// the peak is never lost.
/// </summary>
public sealed class DownsampledSeries
{
    public const int DefaultCapacity = 512;
    private const long InitialWidthNs = 1_000; // 1 µs

    private readonly long[] _max;
    private readonly long[] _min;
    private readonly long _origin;
    private long _width = InitialWidthNs;
    private int _filled;
    private long _current;
    /// <summary>Where the last filled bucket ends on the trace clock (long.MinValue while none is): the fast path's one compare.</summary>
    private long _lastBucketEndNs = long.MinValue;

    /// <param name="initialLevel">The level before the first record (0 for counts that start empty).</param>
    public DownsampledSeries(long originNs, int capacity = DefaultCapacity, long initialLevel = 0)
    {
        if (capacity < 2 || (capacity & 1) != 0) throw new ArgumentOutOfRangeException(nameof(capacity), "capacity must be even and at least 2");
        _origin = originNs;
        _max = new long[capacity];
        _min = new long[capacity];
        _current = initialLevel;
    }

    public long OriginNs => _origin;
    public long BucketWidthNs => _width;

    /// <summary>The level became <paramref name="value"/> at <paramref name="timeNs"/>.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Record(long timeNs, long value)
    {
        if (timeNs < _lastBucketEndNs)
        {
            // Within (or, from another CPU, before) the last bucket: the usual case, and the one
            // the general path below also puts in the last bucket, without its division.
            Update(_filled - 1, value);
            return;
        }
        RecordInNewBucket(timeNs, value);
    }

    /// <summary>A time past the last bucket: fill up to it, halving the resolution when it runs past the end.</summary>
    private void RecordInNewBucket(long timeNs, long value)
    {
        long offset = Math.Max(0, timeNs - _origin);
        long idx = offset / _width;
        while (idx >= _max.Length)
        {
            Halve();
            idx = offset / _width;
        }
        idx = Math.Max(idx, _filled - 1); // a slightly older timestamp (another CPU) lands in the current bucket
        if (idx < 0) idx = 0;
        for (long i = _filled; i <= idx; i++) _max[i] = _min[i] = _current;
        _filled = (int)Math.Max(_filled, idx + 1);
        _lastBucketEndNs = _origin + _filled * _width;
        Update(idx, value);
    }

    private void Update(long idx, long value)
    {
        if (value > _max[idx]) _max[idx] = value;
        if (value < _min[idx]) _min[idx] = value;
        _current = value;
    }

    private void Halve()
    {
        int half = _max.Length / 2;
        for (int i = 0; i < half; i++)
        {
            bool second = 2 * i + 1 < _filled;
            _max[i] = second ? Math.Max(_max[2 * i], _max[2 * i + 1]) : _max[2 * i];
            _min[i] = second ? Math.Min(_min[2 * i], _min[2 * i + 1]) : _min[2 * i];
        }
        Array.Clear(_max, half, half);
        Array.Clear(_min, half, half);
        _filled = (_filled + 1) / 2;
        _width *= 2;
        _lastBucketEndNs = _origin + _filled * _width;
    }

    /// <summary>The buckets so far: start time and the maximum and minimum level within each.</summary>
    public IReadOnlyList<SeriesPoint> Points()
    {
        var points = new SeriesPoint[_filled];
        for (int i = 0; i < _filled; i++) points[i] = new SeriesPoint(_origin + i * _width, _max[i], _min[i]);
        return points;
    }
}

/// <summary>One bucket of a <see cref="DownsampledSeries"/>.</summary>
public readonly record struct SeriesPoint(long TimeNs, long Max, long Min);
