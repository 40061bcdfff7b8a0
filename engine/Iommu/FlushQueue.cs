namespace DmaReplay.Engine.Iommu;

/// <summary>
/// The DMA-FQ deferred invalidation of drivers/iommu/dma-iommu.c: freed IOVAs wait in per-CPU
/// rings (or one global ring) until an IOTLB flush-all has completed after they were queued;
/// only then do they go back to the allocator. A flush happens when the queue of the unmapping
/// CPU is full, and from the timer the first queued entry arms (fq_flush_timeout), which frees the
/// eligible entries of every CPU's queue into the range cache of the CPU running the timer.
/// </summary>
/// <remarks>
/// The timer is armed for jiffies + msecs_to_jiffies(timeout) and fires on a tick; under
/// emulation (QEMU TCG) ticks come late by several milliseconds, so when the trace is at hand it
/// is the witness of when the flush ran: the kernel handing out an IOVA that is still queued here
/// proves the timer ran between that IOVA's unmap and the next one (<see cref="FireWitnessed"/>).
/// Which CPU runs it is not fixed either: with timer migration (v6.9+) the timer of a CPU that
/// went idle is run by another one, into whose range cache the IOVAs go; the witness decides that
/// too (<see cref="Reassign"/>).
/// </remarks>
public sealed class FlushQueue
{
    private struct Entry
    {
        public ulong Pfn, Pages;
        public long Counter, QueuedNs;
        public int Cpu;
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
    /// <summary>The timer run that freed each range still in a range cache (released by fq_flush_timeout).</summary>
    private readonly Dictionary<ulong, TimerRun> _released = new();

    private sealed class TimerRun(int cpu)
    {
        public int Cpu = cpu;
        public readonly List<(ulong Pfn, ulong Pages)> Freed = [];
    }
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
    /// <summary>Timer runs placed by the trace's witness rather than by the modelled expiry.</summary>
    public long WitnessedFlushes { get; private set; }
    /// <summary>Timer runs the witness moved to another CPU than the one that armed the timer.</summary>
    public long MigratedFlushes { get; private set; }
    /// <summary>How long after its expiry tick the timer runs when nothing witnessed it earlier (late ticks).</summary>
    public long LateNs { get; init; }
    public long FullFlushes { get; private set; }
    /// <summary>Called at each fq_flush_iotlb (the domain-wide IOTLB flush), for the hardware model.</summary>
    public Action? OnFlush { get; init; }
    public int Queued => _rings.Sum(r => r.Count);

    private Ring RingOf(int cpu) => _rings[(uint)cpu % (uint)_rings.Length];

    /// <summary>fq_ring_free_locked: frees from the head every entry a finished flush covers.</summary>
    private void RingFree(Ring fq, int cpu, TimerRun? run = null)
    {
        long counter = _finishCnt;
        for (int idx = fq.Head; idx != fq.Tail; idx = (idx + 1) & fq.Mask)
        {
            ref var e = ref fq.Entries[idx];
            if (e.Counter >= counter) break;
            _iovad.FreeIovaFast(e.Pfn, e.Pages, cpu);
            if (run is null)
            {
                _released.Remove(e.Pfn);
            }
            else
            {
                run.Freed.Add((e.Pfn, e.Pages));
                _released[e.Pfn] = run;
            }
            fq.Head = (fq.Head + 1) & fq.Mask;
        }
    }

    /// <summary>
    /// Before an allocation on <paramref name="cpu"/> that the kernel answered with
    /// <paramref name="witnessPfn"/>: if the range cache would answer otherwise because a timer
    /// run's IOVAs are in another CPU's cache than the kernel's, that run happened on the other
    /// CPU: its ranges still cached move there, in the order it freed them.
    /// </summary>
    public void Reassign(ulong witnessPfn, int cpu, ulong size, ulong limitPfn)
    {
        if (_rings.Length < 2) return;
        var rc = _iovad.Rcaches;
        ulong peek = rc.Peek(size, limitPfn + 1, cpu);
        if (peek == witnessPfn) return;
        TimerRun? run = null;
        int target = -1;
        if (_released.TryGetValue(witnessPfn, out var theirs) && theirs.Cpu != cpu && rc.Holder(witnessPfn, size) == theirs.Cpu)
        {
            run = theirs; // the kernel found it here
            target = cpu;
        }
        else if (peek != 0 && _released.TryGetValue(peek, out var mine) && mine.Cpu == cpu)
        {
            run = mine; // the kernel did not find it here
            int holder = rc.Holder(witnessPfn, size);
            target = holder >= 0 && holder != cpu ? holder : (cpu + 1) % _rings.Length;
        }
        if (run is null) return;
        foreach (var (pfn, pages) in run.Freed)
        {
            if (_released.TryGetValue(pfn, out var r) && ReferenceEquals(r, run) && rc.Remove(pfn, pages, run.Cpu)) rc.Insert(pfn, pages, target);
        }
        run.Cpu = target;
        MigratedFlushes++;
    }

    /// <summary>fq_flush_iotlb: start and finish one flush-all.</summary>
    private void FlushIotlb()
    {
        _startCnt++;
        OnFlush?.Invoke();
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
        fq.Entries[idx] = new Entry { Pfn = pfn, Pages = pages, Counter = _startCnt, QueuedNs = nowNs, Cpu = cpu };
        if (!_timerOn) Arm(cpu, nowNs);
    }

    private void Arm(int cpu, long nowNs)
    {
        _timerOn = true;
        _timerCpu = cpu;
        TimerDue = _clock.Expiry(nowNs, _timeoutJiffies) + LateNs;
    }

    /// <summary>fq_flush_timeout, on the CPU that armed the timer.</summary>
    public void Timeout()
    {
        _timerOn = false;
        TimerDue = long.MaxValue;
        TimerFlushes++;
        FlushIotlb();
        var run = new TimerRun(_timerCpu);
        foreach (var ring in _rings) RingFree(ring, _timerCpu, run);
    }

    /// <summary>The queued entry starting at <paramref name="pfn"/>, if any: (CPU, time it was queued).</summary>
    public bool TryFindQueued(ulong pfn, out long queuedNs)
    {
        foreach (var r in _rings)
        {
            for (int idx = r.Head; idx != r.Tail; idx = (idx + 1) & r.Mask)
            {
                if (r.Entries[idx].Pfn != pfn) continue;
                queuedNs = r.Entries[idx].QueuedNs;
                return true;
            }
        }
        queuedNs = 0;
        return false;
    }

    /// <summary>
    /// The timer ran on <paramref name="cpu"/> right after the entry queued at
    /// <paramref name="cutoffNs"/>: what was queued until then is flushed and freed into that
    /// CPU's range cache; later entries were queued after the flush started and stay, the first
    /// of them having armed the timer again.
    /// </summary>
    public void FireWitnessed(int cpu, long cutoffNs)
    {
        FlushIotlb();
        TimerFlushes++;
        WitnessedFlushes++;
        _timerOn = false;
        TimerDue = long.MaxValue;
        (int Cpu, long Ns)? rearm = null;
        foreach (var r in _rings)
        {
            for (int idx = r.Head; idx != r.Tail; idx = (idx + 1) & r.Mask)
            {
                ref var e = ref r.Entries[idx];
                if (e.QueuedNs <= cutoffNs) continue;
                e.Counter = _startCnt; // queued after fq_flush_iotlb started: not covered by it
                if (rearm is null || e.QueuedNs < rearm.Value.Ns) rearm = (e.Cpu, e.QueuedNs);
            }
        }
        var run = new TimerRun(cpu);
        foreach (var ring in _rings) RingFree(ring, cpu, run);
        if (rearm is { } a) Arm(a.Cpu, a.Ns);
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
