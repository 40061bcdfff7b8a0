namespace DmaReplay.Engine.Checks;

/// <summary>
/// dma_entry_hash of kernel/dma/debug.c: 16,384 buckets indexed by (dev_addr &gt;&gt; 13) &amp; 16383,
/// entries appended at the bucket tail, and the kernel's best-fit lookups, so that a release finds
/// the same entry the kernel would when one address is mapped several times.
/// </summary>
internal sealed class DmaDebugHash
{
    public const int HashSize = 16384;
    public const int HashFnShift = 13;

    private readonly DebugEntry?[] _head = new DebugEntry?[HashSize];
    private readonly DebugEntry?[] _tail = new DebugEntry?[HashSize];
    private DebugEntry? _free;

    public int Count { get; private set; }

    private static int Bucket(ulong devAddr) => (int)((devAddr >> HashFnShift) & (HashSize - 1));

    /// <summary>dma_entry_alloc: a zeroed entry, reusing freed ones first.</summary>
    public DebugEntry Allocate()
    {
        var e = _free;
        if (e is null) return new DebugEntry();
        _free = e.Next;
        e.Next = e.Prev = null;
        return e;
    }

    /// <summary>hash_bucket_add: list_add_tail.</summary>
    public void Add(DebugEntry e)
    {
        int b = Bucket(e.DevAddr);
        e.Next = null;
        e.Prev = _tail[b];
        if (_tail[b] is { } t) t.Next = e;
        else _head[b] = e;
        _tail[b] = e;
        Count++;
    }

    /// <summary>hash_bucket_del followed by dma_entry_free.</summary>
    public void Remove(DebugEntry e)
    {
        int b = Bucket(e.DevAddr);
        if (e.Prev is { } p) p.Next = e.Next;
        else _head[b] = e.Next;
        if (e.Next is { } n) n.Prev = e.Prev;
        else _tail[b] = e.Prev;
        Count--;
        e.Prev = null;
        e.Next = _free;
        _free = e;
    }

    /// <summary>bucket_find_exact: same device and DMA address, best fit.</summary>
    public DebugEntry? FindExact(in DebugRef r) => Find(Bucket(r.DevAddr), r, containing: false);

    /// <summary>bucket_find_contain: the reference range inside an entry's, walking back one bucket at a time.</summary>
    public DebugEntry? FindContaining(in DebugRef r)
    {
        ulong addr = r.DevAddr;
        ulong limit = Math.Min((ulong)HashSize, (r.DevAddr >> HashFnShift) + 1);
        for (ulong i = 0; i < limit; i++)
        {
            var e = Find(Bucket(addr), r, containing: true);
            if (e is not null) return e;
            addr -= 1UL << HashFnShift;
        }
        return null;
    }

    /// <summary>
    /// __hash_bucket_find: score every match on size, type, direction and sg_call_ents; a perfect
    /// score wins at once, otherwise the first best — but several imperfect matches mean "not found".
    /// </summary>
    private DebugEntry? Find(int bucket, in DebugRef r, bool containing)
    {
        DebugEntry? best = null;
        int matches = 0, bestLevel = -1;
        for (var e = _head[bucket]; e is not null; e = e.Next)
        {
            if (e.Device != r.Device) continue;
            if (containing ? !(e.DevAddr <= r.DevAddr && e.DevAddr + e.Size >= r.DevAddr + r.Size) : e.DevAddr != r.DevAddr) continue;
            matches++;
            int level = (e.Size == r.Size ? 1 : 0) + (e.Type == r.Type ? 1 : 0)
                + (e.Direction == r.Direction ? 1 : 0) + (e.SgCallEnts == r.SgCallEnts ? 1 : 0);
            if (level == 4) return e;
            if (level > bestLevel)
            {
                bestLevel = level;
                best = e;
            }
        }
        return matches == 1 ? best : null;
    }

    /// <summary>How many entries of the device contain the reference range, over the buckets <see cref="FindContaining"/> walks.</summary>
    public int CountContaining(in DebugRef r)
    {
        int n = 0;
        ulong addr = r.DevAddr;
        ulong limit = Math.Min((ulong)HashSize, (r.DevAddr >> HashFnShift) + 1);
        for (ulong i = 0; i < limit; i++, addr -= 1UL << HashFnShift)
        {
            for (var e = _head[Bucket(addr)]; e is not null; e = e.Next)
            {
                if (e.Device == r.Device && e.DevAddr <= r.DevAddr && e.DevAddr + e.Size >= r.DevAddr + r.Size) n++;
            }
            if (n > 0) return n;
        }
        return n;
    }

    /// <summary>How many entries of the device sit at exactly this address.</summary>
    public int CountExact(in DebugRef r)
    {
        int n = 0;
        for (var e = _head[Bucket(r.DevAddr)]; e is not null; e = e.Next)
        {
            if (e.Device == r.Device && e.DevAddr == r.DevAddr) n++;
        }
        return n;
    }

    /// <summary>A live entry of another device at exactly this address (not a kernel lookup: our unmap-wrong-device rule).</summary>
    public DebugEntry? FindOnOtherDevice(ulong devAddr, int device)
    {
        for (var e = _head[Bucket(devAddr)]; e is not null; e = e.Next)
        {
            if (e.DevAddr == devAddr && e.Device != device) return e;
        }
        return null;
    }

    /// <summary>Every live entry, bucket by bucket in list order (the order debugfs "dump" prints).</summary>
    public IEnumerable<DebugEntry> All()
    {
        for (int b = 0; b < HashSize; b++)
        {
            for (var e = _head[b]; e is not null; e = e.Next) yield return e;
        }
    }
}
