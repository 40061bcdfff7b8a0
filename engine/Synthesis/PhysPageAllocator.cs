namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// Hands out distinct runs of 4 KiB pages of one physical memory range, so a synthetic trace
/// never maps a page that is already mapped: the correct-use stream has exactly one live
/// mapping per address. A bitmap (one bit per page) keeps it exact with constant memory.
/// </summary>
internal sealed class PhysPageAllocator
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    private readonly ulong _start;
    private readonly long _pages;
    private readonly ulong[] _used;
    private readonly Random _rng;

    public PhysPageAllocator(ulong start, ulong end, Random rng)
    {
        _start = start;
        _pages = (long)((end - start) >> PageShift);
        _used = new ulong[(_pages + 63) / 64];
        _rng = rng;
    }

    public long PagesInUse { get; private set; }

    /// <summary>A free run of <paramref name="pages"/> pages aligned to <paramref name="alignPages"/> (a power of two); returns its physical address.</summary>
    public ulong Alloc(int pages, int alignPages = 1)
    {
        long slots = (_pages - pages) / alignPages + 1; // aligned starts whose run fits in the range
        // Random probes land on a free run almost always (the live set is tiny against the range); the scan is the fallback.
        for (int attempt = 0; attempt < 32; attempt++)
        {
            long first = _rng.NextInt64(0, slots) * alignPages;
            if (IsFree(first, pages)) return Take(first, pages);
        }
        for (long first = 0; first + pages <= _pages; first += alignPages)
        {
            if (IsFree(first, pages)) return Take(first, pages);
        }
        throw new InvalidOperationException("synthetic physical memory exhausted");
    }

    /// <summary>The run of <paramref name="pages"/> pages at <paramref name="phys"/>, when all of it is free.</summary>
    public bool TryAllocAt(ulong phys, int pages)
    {
        if (phys < _start || ((phys - _start) & (PageSize - 1)) != 0) return false;
        long first = (long)((phys - _start) >> PageShift);
        if (first + pages > _pages || !IsFree(first, pages)) return false;
        Take(first, pages);
        return true;
    }

    public void Free(ulong phys, int pages)
    {
        long first = (long)((phys - _start) >> PageShift);
        for (long p = first; p < first + pages; p++)
        {
            ulong bit = 1UL << (int)(p & 63);
            if ((_used[p >> 6] & bit) == 0) throw new InvalidOperationException($"page 0x{_start + ((ulong)p << PageShift):x} freed twice");
            _used[p >> 6] &= ~bit;
        }
        PagesInUse -= pages;
    }

    private bool IsFree(long first, int pages)
    {
        for (long p = first; p < first + pages; p++)
        {
            if ((_used[p >> 6] & (1UL << (int)(p & 63))) != 0) return false;
        }
        return true;
    }

    private ulong Take(long first, int pages)
    {
        for (long p = first; p < first + pages; p++) _used[p >> 6] |= 1UL << (int)(p & 63);
        PagesInUse += pages;
        return _start + ((ulong)first << PageShift);
    }
}
