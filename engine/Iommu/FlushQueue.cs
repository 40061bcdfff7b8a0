namespace DmaReplay.Engine.Iommu;

/// <summary>
/// The DMA-FQ deferred invalidation of drivers/iommu/dma-iommu.c: freed IOVAs wait in per-CPU
/// rings (or one global ring) until an IOTLB flush-all has completed after they were queued;
/// only then do they go back to the allocator. A flush happens when the queue of the unmapping
/// CPU is full, and from the timer the first queued entry arms (fq_flush_timeout), which frees the
/// eligible entries of every CPU's queue into the range cache of the CPU running the timer.
/// </summary>
public sealed class FlushQueue
{
    private struct Entry
    {
        public ulong Pfn, Pages;
        public long Counter;
    }

    private sealed class Ring(int size)
    {
        public readonly Entry[] Entries = new Entry[size];
        public readonly int Mask = size - 1;
        public int Head, Tail;
        public bool Full => ((Tail + 1) & Mask) == Head;
        public int Count => (Tail - Head) & Mask;
    }

    private readonly IovaDomain _iovad;
    private readonly Ring[] _rings;
    private readonly JiffyClock _clock;
    private readonly long _timeoutJiffies;
    private long _startCnt, _finishCnt;
    private bool _timerOn;
    private int _timerCpu;

    public FlushQueue(IovaDomain iovad, int cpus, bool single, KernelDefaults k, JiffyClock clock)
    {
        _iovad = iovad;
        _clock = clock;
        int size = single ? k.IovaSingleFqSize : k.IovaDefaultFqSize;
        _timeoutJiffies = k.MsecsToJiffies(single ? k.IovaSingleFqTimeoutMs : k.IovaDefaultFqTimeoutMs);
        _rings = new Ring[single ? 1 : Math.Max(1, cpus)];
        for (int i = 0; i < _rings.Length; i++) _rings[i] = new Ring(size);
    }

    /// <summary>When the flush timer fires; long.MaxValue when it is not armed.</summary>
    public long TimerDue { get; private set; } = long.MaxValue;
    public long TimerFlushes { get; private set; }
    public long FullFlushes { get; private set; }
    public int Queued => _rings.Sum(r => r.Count);

    private Ring RingOf(int cpu) => _rings[(uint)cpu % (uint)_rings.Length];

    /// <summary>fq_ring_free_locked: frees from the head every entry a finished flush covers.</summary>
    private void RingFree(Ring fq, int cpu)
    {
        long counter = _finishCnt;
        for (int idx = fq.Head; idx != fq.Tail; idx = (idx + 1) & fq.Mask)
        {
            ref var e = ref fq.Entries[idx];
            if (e.Counter >= counter) break;
            _iovad.FreeIovaFast(e.Pfn, e.Pages, cpu);
            fq.Head = (fq.Head + 1) & fq.Mask;
        }
    }

    /// <summary>fq_flush_iotlb: start and finish one flush-all.</summary>
    private void FlushIotlb()
    {
        _startCnt++;
        _finishCnt++;
    }

    /// <summary>queue_iova on <paramref name="cpu"/> at <paramref name="nowNs"/>.</summary>
    public void Queue(ulong pfn, ulong pages, int cpu, long nowNs)
    {
        var fq = RingOf(cpu);
        RingFree(fq, cpu);
        if (fq.Full)
        {
            FlushIotlb();
            FullFlushes++;
            RingFree(fq, cpu);
        }
        int idx = fq.Tail;
        fq.Tail = (idx + 1) & fq.Mask;
        fq.Entries[idx] = new Entry { Pfn = pfn, Pages = pages, Counter = _startCnt };
        if (!_timerOn)
        {
            _timerOn = true;
            _timerCpu = cpu;
            TimerDue = _clock.Expiry(nowNs, _timeoutJiffies);
        }
    }

    /// <summary>fq_flush_timeout, on the CPU that armed the timer.</summary>
    public void Timeout()
    {
        _timerOn = false;
        TimerDue = long.MaxValue;
        TimerFlushes++;
        FlushIotlb();
        foreach (var ring in _rings) RingFree(ring, _timerCpu);
    }

    /// <summary>The IOVAs waiting for a flush, as (pfn, granules).</summary>
    public IEnumerable<(ulong Pfn, ulong Pages)> Pending()
    {
        foreach (var r in _rings)
        {
            for (int idx = r.Head; idx != r.Tail; idx = (idx + 1) & r.Mask) yield return (r.Entries[idx].Pfn, r.Entries[idx].Pages);
        }
    }
}
