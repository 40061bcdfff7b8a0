namespace DmaReplay.Engine.Iommu;

/// <summary>
/// The per-order range caches of drivers/iommu/iova.c (v6.7+): per CPU a "loaded" and a "prev"
/// magazine of IOVA_MAG_SIZE pfns, and per order a LIFO depot of full magazines that delayed work
/// trims back to the number of online CPUs, one magazine per IOVA_DEPOT_DELAY.
/// </summary>
internal sealed class IovaRcaches
{
    internal sealed class Magazine(int capacity)
    {
        public readonly ulong[] Pfns = new ulong[capacity];
        public int Size;
        public bool Full => Size == Pfns.Length;
        public bool Empty => Size == 0;

        /// <summary>iova_magazine_pop: the topmost pfn ≤ limit, replaced by the last one; 0 when none fits.</summary>
        public ulong Pop(ulong limitPfn)
        {
            int i = Find(limitPfn);
            if (i < 0) return 0;
            ulong pfn = Pfns[i];
            Pfns[i] = Pfns[--Size];
            return pfn;
        }

        /// <summary>Where Pop looks: the topmost pfn ≤ limit, or -1.</summary>
        public int Find(ulong limitPfn)
        {
            for (int i = Size - 1; i >= 0; i--)
            {
                if (Pfns[i] <= limitPfn) return i;
            }
            return -1;
        }

        /// <summary>Takes <paramref name="pfn"/> out, the others keeping their order.</summary>
        public bool Remove(ulong pfn)
        {
            int i = Array.IndexOf(Pfns, pfn, 0, Size);
            if (i < 0) return false;
            Array.Copy(Pfns, i + 1, Pfns, i, Size - i - 1);
            Size--;
            return true;
        }
    }

    internal sealed class CpuRcache(int capacity)
    {
        public Magazine Loaded = new(capacity), Prev = new(capacity);

        public void Swap() => (Loaded, Prev) = (Prev, Loaded);
    }

    internal sealed class Rcache
    {
        public required CpuRcache[] Cpus;
        public readonly Stack<Magazine> Depot = new();
        /// <summary>When the pending depot work runs; long.MaxValue when none is pending.</summary>
        public long WorkDue = long.MaxValue;
    }

    private readonly IovaDomain _domain;
    private readonly Rcache[] _orders;
    private readonly int _magSize;
    private readonly long _depotDelayJiffies;
    private readonly JiffyClock _clock;

    public IovaRcaches(IovaDomain domain, int cpus, KernelDefaults k, JiffyClock clock)
    {
        _domain = domain;
        _magSize = k.IovaMagSize;
        _clock = clock;
        _depotDelayJiffies = k.MsecsToJiffies(k.IovaDepotDelayMs);
        OnlineCpus = Math.Max(1, cpus);
        _orders = new Rcache[k.IovaRangeCacheMaxSize];
        for (int o = 0; o < _orders.Length; o++)
        {
            var per = new CpuRcache[OnlineCpus];
            for (int c = 0; c < per.Length; c++) per[c] = new CpuRcache(_magSize);
            _orders[o] = new Rcache { Cpus = per };
        }
    }

    public int MaxOrder => _orders.Length;
    public int OnlineCpus { get; }
    public long DepotPushes { get; private set; }
    public long DepotTrims { get; private set; }

    internal Rcache Order(int order) => _orders[order];

    private CpuRcache Cpu(int order, int cpu) => _orders[order].Cpus[(uint)cpu % (uint)OnlineCpus];

    /// <summary>iova_rcache_insert on the current CPU: false for orders ≥ IOVA_RANGE_CACHE_MAX_SIZE.</summary>
    public bool Insert(ulong pfn, ulong size, int cpu)
    {
        int order = IovaDomain.OrderBase2(size);
        if (order >= _orders.Length) return false;
        var rc = _orders[order];
        var c = Cpu(order, cpu);
        if (c.Loaded.Full)
        {
            if (!c.Prev.Full)
            {
                c.Swap();
            }
            else
            {
                rc.Depot.Push(c.Loaded);
                DepotPushes++;
                if (rc.WorkDue == long.MaxValue) rc.WorkDue = _clock.Expiry(_domain.NowNs, _depotDelayJiffies);
                c.Loaded = new Magazine(_magSize);
            }
        }
        c.Loaded.Pfns[c.Loaded.Size++] = pfn;
        return true;
    }

    /// <summary>iova_rcache_get: <paramref name="limitPfn"/> is the exclusive limit; a cached pfn fits when ≤ limit − size.</summary>
    public ulong Get(ulong size, ulong limitPfn, int cpu)
    {
        int order = IovaDomain.OrderBase2(size);
        if (order >= _orders.Length) return 0;
        var rc = _orders[order];
        var c = Cpu(order, cpu);
        if (c.Loaded.Empty)
        {
            if (!c.Prev.Empty) c.Swap();
            else if (rc.Depot.Count > 0) c.Loaded = rc.Depot.Pop();
            else return 0;
        }
        return c.Loaded.Pop(unchecked(limitPfn - size));
    }

    /// <summary>What <see cref="Get"/> would return, without taking it.</summary>
    public ulong Peek(ulong size, ulong limitPfn, int cpu)
    {
        int order = IovaDomain.OrderBase2(size);
        if (order >= _orders.Length) return 0;
        var c = Cpu(order, cpu);
        var m = !c.Loaded.Empty ? c.Loaded : !c.Prev.Empty ? c.Prev : _orders[order].Depot.Count > 0 ? _orders[order].Depot.Peek() : null;
        if (m is null) return 0;
        int i = m.Find(unchecked(limitPfn - size));
        return i < 0 ? 0 : m.Pfns[i];
    }

    /// <summary>The CPU whose loaded or prev magazine holds <paramref name="pfn"/> (of a range of <paramref name="size"/>), or -1.</summary>
    public int Holder(ulong pfn, ulong size)
    {
        int order = IovaDomain.OrderBase2(size);
        if (order >= _orders.Length) return -1;
        var per = _orders[order].Cpus;
        for (int c = 0; c < per.Length; c++)
        {
            if (Array.IndexOf(per[c].Loaded.Pfns, pfn, 0, per[c].Loaded.Size) >= 0 || Array.IndexOf(per[c].Prev.Pfns, pfn, 0, per[c].Prev.Size) >= 0) return c;
        }
        return -1;
    }

    /// <summary>Takes a cached range out of a CPU's loaded or prev magazine; false when it is not there.</summary>
    public bool Remove(ulong pfn, ulong size, int cpu)
    {
        int order = IovaDomain.OrderBase2(size);
        if (order >= _orders.Length) return false;
        var c = Cpu(order, cpu);
        return c.Loaded.Remove(pfn) || c.Prev.Remove(pfn);
    }

    /// <summary>free_cpu_cached_iovas for every online CPU, then free_global_cached_iovas.</summary>
    public void FreeAll()
    {
        for (int cpu = 0; cpu < OnlineCpus; cpu++)
        {
            foreach (var rc in _orders)
            {
                var c = rc.Cpus[cpu];
                FreePfns(c.Loaded);
                FreePfns(c.Prev);
            }
        }
        foreach (var rc in _orders)
        {
            while (rc.Depot.Count > 0) FreePfns(rc.Depot.Pop());
        }
    }

    /// <summary>iova_magazine_free_pfns: every pfn back to the tree, in magazine order.</summary>
    private void FreePfns(Magazine m)
    {
        for (int i = 0; i < m.Size; i++) _domain.FreeIova(m.Pfns[i]);
        m.Size = 0;
    }

    public long NextWorkDue
    {
        get
        {
            long due = long.MaxValue;
            foreach (var rc in _orders) due = Math.Min(due, rc.WorkDue);
            return due;
        }
    }

    /// <summary>iova_depot_work_func for every order whose work is due, in due order.</summary>
    public void RunDueWork(long nowNs)
    {
        while (true)
        {
            Rcache? next = null;
            foreach (var rc in _orders)
            {
                if (rc.WorkDue <= nowNs && (next is null || rc.WorkDue < next.WorkDue)) next = rc;
            }
            if (next is null) return;
            long at = next.WorkDue;
            next.WorkDue = long.MaxValue;
            _domain.NowNs = at;
            if (next.Depot.Count > OnlineCpus)
            {
                FreePfns(next.Depot.Pop());
                DepotTrims++;
                next.WorkDue = _clock.Expiry(at, _depotDelayJiffies);
            }
        }
    }

    public IEnumerable<ulong> AllPfns()
    {
        foreach (var rc in _orders)
        {
            foreach (var c in rc.Cpus)
            {
                for (int i = 0; i < c.Loaded.Size; i++) yield return c.Loaded.Pfns[i];
                for (int i = 0; i < c.Prev.Size; i++) yield return c.Prev.Pfns[i];
            }
            foreach (var m in rc.Depot)
            {
                for (int i = 0; i < m.Size; i++) yield return m.Pfns[i];
            }
        }
    }
}
