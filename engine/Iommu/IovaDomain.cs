using System.Numerics;

namespace DmaReplay.Engine.Iommu;

/// <summary>
/// struct iova_domain of drivers/iommu/iova.c (Linux 6.7–6.12, rbtree allocator): the ranges in
/// use (allocated or reserved) in address order, ending with the anchor node at ~0; the
/// cached32/cached nodes the top-down search starts from; max32_alloc_size; and the per-order
/// range caches. All pfns are in granule units; a limit is inclusive unless named exclusive.
/// </summary>
/// <remarks>
/// The kernel keeps the nodes in an rbtree and walks it with rb_prev/rb_next; a doubly linked
/// list in address order (plus a lookup by first pfn for frees) gives the same neighbours, so
/// every search visits the same gaps and returns the same pfn, without a sorted array's O(n)
/// insert. The retry pass starts at iova_find_limit() in the kernel; starting it at the lowest node reaching the
/// limit is equivalent, since every node above the limit is walked through without effect.
/// </remarks>
public sealed class IovaDomain
{
    /// <summary>A struct iova: the rb_prev/rb_next neighbours are the list links.</summary>
    private sealed class Node
    {
        public ulong Lo, Hi;
        public bool Reserved;
        public Node? Prev, Next;
    }

    private const ulong Anchor = ulong.MaxValue; // IOVA_ANCHOR
    private readonly Node _anchor;
    private Node _lowest;
    /// <summary>Nodes by pfn_lo: dma-iommu frees a range by its first pfn, so private_find_iova is one lookup.</summary>
    private readonly Dictionary<ulong, Node> _byLo = new();
    private readonly Stack<Node> _spare = new();
    private Node _cached, _cached32;
    private ulong _max32AllocSize;
    private readonly IovaRcaches _rcaches;

    public IovaDomain(ulong granule, ulong startPfn, int cpus, KernelDefaults k, JiffyClock clock)
    {
        if (granule == 0 || !BitOperations.IsPow2(granule)) throw new ArgumentException("the granule must be a power of two", nameof(granule));
        Granule = granule;
        Shift = BitOperations.TrailingZeroCount(granule);
        StartPfn = Math.Max(1, startPfn);
        Dma32BitPfn = 1UL << (32 - Shift);
        _max32AllocSize = Dma32BitPfn;
        _anchor = new Node { Lo = Anchor, Hi = Anchor, Reserved = true };
        _lowest = _cached = _cached32 = _anchor;
        _rcaches = new IovaRcaches(this, cpus, k, clock);
    }

    public ulong Granule { get; }
    public int Shift { get; }
    public ulong StartPfn { get; }
    /// <summary>dma_32bit_pfn: the first pfn above 4 GiB.</summary>
    public ulong Dma32BitPfn { get; }
    public ulong Max32AllocSize => _max32AllocSize;
    /// <summary>The time of the current call on the trace clock: delayed work is scheduled from it.</summary>
    public long NowNs { get; set; }
    internal IovaRcaches Rcaches => _rcaches;

    /// <summary>Granules held by the tree, reserved regions excepted (allocated, cached or queued).</summary>
    public ulong PagesInTree { get; private set; }
    public long TreeAllocations { get; private set; }
    public long RcacheHits { get; private set; }
    public long RcacheFlushes { get; private set; }

    /// <summary>The ranges in the tree, anchor excluded, in address order.</summary>
    public IEnumerable<(ulong Lo, ulong Hi, bool Reserved)> Ranges
    {
        get
        {
            for (var n = _lowest; n != _anchor; n = n.Next!) yield return (n.Lo, n.Hi, n.Reserved);
        }
    }

    public bool CachedIsAnchor => _cached.Lo == Anchor;
    public ulong CachedLo => _cached.Lo;
    public ulong Cached32Lo => _cached32.Lo;

    /// <summary>The node holding <paramref name="pfn"/> (private_find_iova), or null.</summary>
    private Node? Find(ulong pfn)
    {
        if (_byLo.TryGetValue(pfn, out var n)) return n;
        for (n = _anchor.Prev; n is not null && n.Lo > pfn; n = n.Prev) { } // a pfn inside a range: rare, so a walk
        return n is not null && n.Hi >= pfn ? n : null;
    }

    /// <summary>fls_long(x): 1-based index of the highest set bit, 0 for 0.</summary>
    internal static int Fls(ulong x) => 64 - BitOperations.LeadingZeroCount(x);

    /// <summary>order_base_2(n): ceil(log2(n)), 0 for 0 and 1.</summary>
    internal static int OrderBase2(ulong n) => n <= 1 ? 0 : Fls(n - 1);

    /// <summary>
    /// __alloc_and_insert_iova_range: the highest size-(aligned-)fitting gap below the cached
    /// node, then (once) the space above it; a failure below 4 GiB records max32_alloc_size.
    /// Returns the new range's first pfn, 0 when there is no room.
    /// </summary>
    private ulong AllocAndInsert(ulong size, ulong limitPfn, bool sizeAligned)
    {
        unchecked
        {
            ulong alignMask = ~0UL;
            if (sizeAligned) alignMask <<= Fls(size - 1);
            ulong high = limitPfn, low = StartPfn, newPfn;
            if (limitPfn <= Dma32BitPfn && size >= _max32AllocSize) return 0;

            Node? curr = limitPfn <= Dma32BitPfn ? _cached32 : _cached;
            ulong retryPfn = curr.Hi;
            Node prev;
            while (true)
            {
                do
                {
                    high = Math.Min(high, curr.Lo);
                    newPfn = (high - size) & alignMask;
                    prev = curr;
                    curr = curr.Prev;
                } while (curr is not null && newPfn <= curr.Hi && newPfn >= low);

                if (high >= size && newPfn >= low) break;
                if (low == StartPfn && retryPfn < limitPfn)
                {
                    high = limitPfn;
                    low = retryPfn + 1;
                    curr = FindLimit(limitPfn);
                    continue;
                }
                _max32AllocSize = size;
                return 0;
            }

            var node = InsertBefore(prev, newPfn, newPfn + size - 1, reserved: false); // below the last node walked
            PagesInTree += size;
            if (node.Hi < Dma32BitPfn) _cached32 = node; // __cached_rbnode_insert_update
            else _cached = node;
            return newPfn;
        }
    }

    /// <summary>iova_find_limit's role: where the retry walk starts (the lowest node reaching the limit; only reserved ranges and the anchor lie above it).</summary>
    private Node FindLimit(ulong limitPfn)
    {
        var n = _anchor;
        while (n.Prev is { } p && p.Hi >= limitPfn) n = p;
        return n;
    }

    private Node InsertBefore(Node next, ulong lo, ulong hi, bool reserved)
    {
        var n = _spare.Count > 0 ? _spare.Pop() : new Node();
        n.Lo = lo;
        n.Hi = hi;
        n.Reserved = reserved;
        n.Next = next;
        n.Prev = next.Prev;
        if (next.Prev is { } p) p.Next = n;
        else _lowest = n;
        next.Prev = n;
        _byLo[lo] = n;
        return n;
    }

    /// <summary>alloc_iova: <paramref name="limitPfn"/> inclusive. Returns pfn_lo or 0.</summary>
    public ulong AllocIova(ulong size, ulong limitPfn, bool sizeAligned)
    {
        if (size == 0) return 0;
        ulong pfn = AllocAndInsert(size, limitPfn + 1, sizeAligned);
        if (pfn != 0) TreeAllocations++;
        return pfn;
    }

    /// <summary>free_iova: removes the range holding <paramref name="pfn"/>; false when none does.</summary>
    public bool FreeIova(ulong pfn)
    {
        var n = Find(pfn);
        if (n is null || n == _anchor) return false;
        Remove(n);
        return true;
    }

    /// <summary>remove_iova with __cached_rbnode_delete_update.</summary>
    private void Remove(Node free)
    {
        var next = free.Next!; // rb_next: the anchor at worst
        if (free == _cached32 || (free.Hi < Dma32BitPfn && free.Lo >= _cached32.Lo)) _cached32 = next;
        if (free.Lo < Dma32BitPfn) _max32AllocSize = Dma32BitPfn;
        if (free.Lo >= _cached.Lo) _cached = next;
        next.Prev = free.Prev;
        if (free.Prev is { } p) p.Next = next;
        else _lowest = next;
        _byLo.Remove(free.Lo);
        if (!free.Reserved) PagesInTree -= free.Hi - free.Lo + 1;
        free.Prev = free.Next = null;
        _spare.Push(free);
    }

    /// <summary>
    /// reserve_iova (rbtree version): every range it overlaps is widened down to it and the rest
    /// above them is inserted as a new node; the caches are left alone.
    /// </summary>
    public void ReserveIova(ulong lo, ulong hi)
    {
        if (hi < lo) return;
        bool overlap = false;
        for (var n = _lowest; ; n = n.Next!)
        {
            if (lo <= n.Hi && hi >= n.Lo)
            {
                if (lo < n.Lo) // __adjust_overlap_range
                {
                    _byLo.Remove(n.Lo);
                    n.Lo = lo;
                    _byLo[lo] = n;
                }
                if (hi > n.Hi) lo = n.Hi + 1;
                if (lo >= n.Lo && hi <= n.Hi) return;
                overlap = true;
            }
            else if (overlap)
            {
                break;
            }
            if (n == _anchor) break;
        }
        var at = _lowest;
        while (at.Lo < lo) at = at.Next!;
        InsertBefore(at, lo, hi, reserved: true);
    }

    /// <summary>
    /// alloc_iova_fast: sizes below 2^(IOVA_RANGE_CACHE_MAX_SIZE−1) granules are rounded to a
    /// power of two; the CPU's range cache first, then the tree (size-aligned); on failure and
    /// <paramref name="flushRcache"/>, every cached range goes back to the tree and the tree is
    /// tried once more. Returns the pfn or 0.
    /// </summary>
    public ulong AllocIovaFast(ulong size, ulong limitPfn, bool flushRcache, int cpu, out bool fromRcache)
    {
        fromRcache = false;
        if (size < 1UL << (_rcaches.MaxOrder - 1)) size = BitOperations.RoundUpToPowerOf2(size);
        ulong pfn = _rcaches.Get(size, limitPfn + 1, cpu);
        if (pfn != 0)
        {
            RcacheHits++;
            fromRcache = true;
            return pfn;
        }
        while (true)
        {
            pfn = AllocIova(size, limitPfn, true);
            if (pfn != 0 || !flushRcache) return pfn;
            flushRcache = false;
            RcacheFlushes++;
            _rcaches.FreeAll();
        }
    }

    /// <summary>free_iova_fast: into the CPU's range cache of the range's order, else the tree.</summary>
    public void FreeIovaFast(ulong pfn, ulong size, int cpu)
    {
        if (_rcaches.Insert(pfn, size, cpu)) return;
        FreeIova(pfn);
    }

    /// <summary>Runs the depot trimming work that is due by <paramref name="nowNs"/>; the next due time or long.MaxValue.</summary>
    public long NextWorkDue => _rcaches.NextWorkDue;
    public void RunDueWork(long nowNs) => _rcaches.RunDueWork(nowNs);

    /// <summary>The pfns the range caches hold (loaded, prev and depot magazines of every CPU and order).</summary>
    public IEnumerable<ulong> CachedPfns => _rcaches.AllPfns();
}
