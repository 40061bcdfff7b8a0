namespace DmaReplay.Engine.Checks;

/// <summary>
/// dma_entry_hash of kernel/dma/debug.c: 16,384 buckets indexed by (dev_addr &gt;&gt; 13) &amp; 16383,
/// entries appended at the bucket tail, and the kernel's best-fit lookups, so that a release finds
/// the same entry the kernel would when one address is mapped several times.
/// </summary>
/// <remarks>
/// Entries are structs in one growing array, named by index (<see cref="None"/> for no entry); the
/// bucket lists are doubly linked through those indices as the kernel's list_heads are through
/// pointers, so every walk visits the entries in the kernel's order. Freed entries are reused.
/// </remarks>
internal sealed class DmaDebugHash
{
    public const int HashSize = 16384;
    public const int HashFnShift = 13;
    public const int None = -1;

    // Bucket b's first entry at [2b], its last at [2b + 1]: one cache line for both ends.
    private readonly int[] _ends = NewBuckets();
    private DebugEntry[] _entries = new DebugEntry[1024];
    private int _used; // entries ever handed out; those below it not live are on the free list
    private int _free = None;

    public int Count { get; private set; }

    private static int[] NewBuckets()
    {
        var b = new int[2 * HashSize];
        Array.Fill(b, None);
        return b;
    }

    private static int Bucket(ulong devAddr) => (int)((devAddr >> HashFnShift) & (HashSize - 1));

    private ref int Head(int bucket) => ref _ends[2 * bucket];
    private ref int Tail(int bucket) => ref _ends[2 * bucket + 1];

    /// <summary>The entry with this index. The reference is valid until the next <see cref="Allocate"/>.</summary>
    public ref DebugEntry this[int id] => ref _entries[id];

    /// <summary>dma_entry_alloc: a zeroed entry, reusing freed ones first; not yet in the hash.</summary>
    public int Allocate()
    {
        int id = _free;
        if (id != None) _free = _entries[id].Next;
        else
        {
            if (_used == _entries.Length) Array.Resize(ref _entries, _entries.Length * 2);
            id = _used++;
        }
        _entries[id] = default;
        _entries[id].Next = _entries[id].Prev = None;
        return id;
    }

    /// <summary>hash_bucket_add: list_add_tail.</summary>
    public void Add(int id)
    {
        ref var e = ref _entries[id];
        int b = Bucket(e.DevAddr);
        e.Next = None;
        e.Prev = Tail(b);
        if (e.Prev != None) _entries[e.Prev].Next = id;
        else Head(b) = id;
        Tail(b) = id;
        Count++;
    }

    /// <summary>hash_bucket_del followed by dma_entry_free.</summary>
    public void Remove(int id)
    {
        ref var e = ref _entries[id];
        int b = Bucket(e.DevAddr);
        if (e.Prev != None) _entries[e.Prev].Next = e.Next;
        else Head(b) = e.Next;
        if (e.Next != None) _entries[e.Next].Prev = e.Prev;
        else Tail(b) = e.Prev;
        Count--;
        e.Prev = None;
        e.Next = _free;
        _free = id;
    }

    /// <summary>bucket_find_exact: same device and DMA address, best fit.</summary>
    public int FindExact(in DebugRef r) => Find(Bucket(r.DevAddr), r, containing: false);

    /// <summary>bucket_find_contain: the reference range inside an entry's, walking back one bucket at a time.</summary>
    public int FindContaining(in DebugRef r)
    {
        ulong addr = r.DevAddr;
        ulong limit = Math.Min((ulong)HashSize, (r.DevAddr >> HashFnShift) + 1);
        for (ulong i = 0; i < limit; i++)
        {
            int id = Find(Bucket(addr), r, containing: true);
            if (id != None) return id;
            addr -= 1UL << HashFnShift;
        }
        return None;
    }

    /// <summary>
    /// __hash_bucket_find: score every match on size, type, direction and sg_call_ents; a perfect
    /// score wins at once, otherwise the first best — but several imperfect matches mean "not found".
    /// </summary>
    private int Find(int bucket, in DebugRef r, bool containing)
    {
        var entries = _entries;
        int best = None;
        int matches = 0, bestLevel = -1;
        for (int id = Head(bucket); id != None; id = entries[id].Next)
        {
            ref var e = ref entries[id];
            if (e.Device != r.Device) continue;
            if (containing ? !(e.DevAddr <= r.DevAddr && e.DevAddr + e.Size >= r.DevAddr + r.Size) : e.DevAddr != r.DevAddr) continue;
            matches++;
            int level = (e.Size == r.Size ? 1 : 0) + (e.Type == r.Type ? 1 : 0)
                + (e.Direction == r.Direction ? 1 : 0) + (e.SgCallEnts == r.SgCallEnts ? 1 : 0);
            if (level == 4) return id;
            if (level > bestLevel)
            {
                bestLevel = level;
                best = id;
            }
        }
        return matches == 1 ? best : None;
    }

    /// <summary>How many entries of the device contain the reference range, over the buckets <see cref="FindContaining"/> walks.</summary>
    public int CountContaining(in DebugRef r)
    {
        int n = 0;
        ulong addr = r.DevAddr;
        ulong limit = Math.Min((ulong)HashSize, (r.DevAddr >> HashFnShift) + 1);
        for (ulong i = 0; i < limit; i++, addr -= 1UL << HashFnShift)
        {
            for (int id = Head(Bucket(addr)); id != None; id = _entries[id].Next)
            {
                ref var e = ref _entries[id];
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
        for (int id = Head(Bucket(r.DevAddr)); id != None; id = _entries[id].Next)
        {
            if (_entries[id].Device == r.Device && _entries[id].DevAddr == r.DevAddr) n++;
        }
        return n;
    }

    /// <summary>A live entry of another device at exactly this address (not a kernel lookup: our unmap-wrong-device rule).</summary>
    public int FindOnOtherDevice(ulong devAddr, int device)
    {
        for (int id = Head(Bucket(devAddr)); id != None; id = _entries[id].Next)
        {
            if (_entries[id].DevAddr == devAddr && _entries[id].Device != device) return id;
        }
        return None;
    }

    /// <summary>The ids of every live entry, bucket by bucket in list order; the caller may not remove while walking.</summary>
    public List<int> AllIds()
    {
        var ids = new List<int>();
        for (int b = 0; b < HashSize; b++)
        {
            for (int id = Head(b); id != None; id = _entries[id].Next) ids.Add(id);
        }
        return ids;
    }

    /// <summary>Copies of every live entry, bucket by bucket in list order (the order debugfs "dump" prints).</summary>
    public IEnumerable<DebugEntry> All()
    {
        for (int b = 0; b < HashSize; b++)
        {
            for (int id = Head(b); id != None; id = _entries[id].Next) yield return _entries[id];
        }
    }
}
