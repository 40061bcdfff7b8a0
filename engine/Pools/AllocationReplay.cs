using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Pools;

/// <summary>
/// The allocation side of a replay: every dma_alloc goes through <see cref="AllocationSources.Decide"/>
/// and, where the kernel's own allocator decides the address, through it — the device's coherent
/// memory (coherent.c), the atomic pools (pool.c, genalloc) — and every dma_pool event through
/// <see cref="DmaPool"/> with the pages the trace's dma_alloc events gave it. Counts the source of
/// each allocation per device, compares the addresses the emulation decides with the recorded
/// ones, predicts atomic pool exhaustion, and records each atomic pool's use over time.
/// </summary>
/// <remarks>
/// Atomic pool chunks lie at addresses no trace shows: a chunk's base is learned from the first
/// allocation served from it (recorded address − emulated offset), and the allocations after it
/// are compared. Frees of per-device coherent memory are not traced by the kernel
/// (dma_free_attrs returns before trace_dma_free), so its bitmap only fills in a real capture.
/// An allocation the emulation fails where the kernel succeeded is counted as predicted; the
/// stream downstream keeps the recorded address (the driver's later calls name it).
/// </remarks>
public sealed class AllocationReplay(PlatformModel platform, TraceStrings strings)
{
    private readonly AtomicPools _atomic = new(platform.AtomicPoolSize, platform.HasDmaZone, platform.Allocation.AtomicPoolExpandDelayNs, platform.Kernel);
    private readonly Dictionary<int, DevCoherentMem?> _devMem = new();
    private readonly DevCoherentMem? _global = platform.Allocation.GlobalCoherent is { } g ? new DevCoherentMem(g.DeviceBase, g.Size, platform.Kernel.PageShift) : null;
    private readonly Dictionary<(int Device, ulong Recorded), (AtomicZone Zone, int Chunk, ulong Offset, ulong Size)> _atomicLive = new();
    private readonly Dictionary<(AtomicZone, int), ulong> _chunkBase = new();
    private readonly Dictionary<(int Device, AllocSource Source), (long Allocations, long Failures, ulong Bytes)> _sources = new();
    private readonly Dictionary<(int Device, int Name), PoolState> _pools = new();
    private readonly List<PoolState> _allPools = [];
    private readonly Dictionary<int, List<(ulong Dma, ulong Size)>> _recentAllocs = new();
    private readonly DownsampledSeries?[] _used = new DownsampledSeries?[3], _size = new DownsampledSeries?[3];
    private readonly long[] _peakUsed = new long[3], _failures = new long[3];
    private long _poolCompared, _poolExact, _devCompared, _devExact, _atomicCompared, _atomicExact;
    private long _failRecorded, _failPredicted, _failMatched;
    private bool _any;

    private sealed class PoolState(int device, DmaPool pool)
    {
        public readonly int Device = device;
        public readonly DmaPool Pool = pool;
        public long PeakActive;
        public bool Destroyed;
    }

    /// <summary>dma_alloc: the source, then the kernel's allocator where it decides the address.</summary>
    public void Alloc(DmaEvent e, DeviceModel dev, bool translated)
    {
        Start(e.TimestampNs);
        bool recordedFailed = e.DmaAddr == 0 && e.VirtAddr == 0;
        ulong size = (e.Size + platform.Kernel.PageSize - 1) & ~(platform.Kernel.PageSize - 1); // PAGE_ALIGN in dma_direct_alloc
        var source = AllocationSources.Decide(dev, platform, size, e.Gfp, translated);
        bool predictedFailed = false;
        switch (source)
        {
            case AllocSource.DevCoherent:
                predictedFailed = !Compare(DevMem(e.Device, dev)!.Alloc(e.Size), e, recordedFailed, ref _devCompared, ref _devExact);
                break;
            case AllocSource.GlobalCoherent when _global is not null:
                predictedFailed = !Compare(_global.Alloc(e.Size), e, recordedFailed, ref _devCompared, ref _devExact);
                break;
            case AllocSource.Unsupported:
                predictedFailed = true;
                break;
            case null:
                // dma_direct_alloc_from_pool: gfp |= the mask's zone, dma_coherent_ok checked per pool;
                // iommu_dma_alloc's pool path passes the gfp as it is and no check.
                var zone = translated ? GfpFlags.None : AllocationSources.OptimalZone(dev, platform);
                Func<AtomicZone, bool>? ok = translated ? null : z => PoolReaches(z, dev);
                var got = _atomic.Alloc(size, (e.Gfp & ~(GfpFlags.Dma | GfpFlags.Dma32 | GfpFlags.Highmem)) | zone, ok, e.TimestampNs);
                RecordAtomic(e.TimestampNs);
                if (got is { } a)
                {
                    source = AllocationSources.Of(a.Zone);
                    if (recordedFailed) _atomic.Free(a.Zone, a.Chunk, a.Offset, size, e.TimestampNs);
                    else
                    {
                        CompareAtomic(a.Zone, a.Chunk, a.Offset, e.DmaAddr);
                        _atomicLive[(e.Device, e.DmaAddr)] = (a.Zone, a.Chunk, a.Offset, size);
                    }
                    RecordAtomic(e.TimestampNs);
                }
                else
                {
                    predictedFailed = true;
                    source = AllocationSources.Of(_atomic.Guess(null, e.Gfp | zone) ?? AtomicZone.Kernel);
                    _failures[(int)(source.Value - AllocSource.AtomicPoolDma)]++;
                }
                break;
        }
        var key = (e.Device, source!.Value);
        var c = _sources.GetValueOrDefault(key);
        _sources[key] = (c.Allocations + (recordedFailed ? 0 : 1), c.Failures + (predictedFailed ? 1 : 0), c.Bytes + (recordedFailed ? 0 : e.Size));
        if (recordedFailed) _failRecorded++;
        if (predictedFailed) _failPredicted++;
        if (recordedFailed && predictedFailed) _failMatched++;
        if (!recordedFailed) Remember(e.Device, e.DmaAddr, e.Size);
    }

    /// <summary>dma_free: the atomic pool or coherent area takes its memory back.</summary>
    public void Free(DmaEvent e, DeviceModel dev)
    {
        if (_atomicLive.Remove((e.Device, e.DmaAddr), out var a))
        {
            _atomic.Free(a.Zone, a.Chunk, a.Offset, a.Size, e.TimestampNs);
            RecordAtomic(e.TimestampNs);
        }
        else if (dev.CoherentMem is not null) DevMem(e.Device, dev)!.Release(e.DmaAddr, e.Size);
        if (_recentAllocs.TryGetValue(e.Device, out var recent)) recent.RemoveAll(r => r.Dma == e.DmaAddr);
    }

    /// <summary>dma_pool_create / _alloc / _free / _destroy (mm/dmapool.c).</summary>
    public void Pool(DmaEvent e)
    {
        Start(e.TimestampNs);
        var key = (e.Device, e.Pool);
        switch (e.Kind)
        {
            case DmaEventKind.DmaPoolCreate:
                if (DmaPool.Create(strings.TextOf(e.Pool), e.Size, e.Align, e.Boundary, platform.Kernel) is { } created)
                {
                    var st = new PoolState(e.Device, created);
                    _pools[key] = st;
                    _allPools.Add(st);
                }
                break;
            case DmaEventKind.DmaPoolAlloc when _pools.TryGetValue(key, out var s) && !(e.DmaAddr == 0 && e.VirtAddr == 0):
                var pool = s.Pool;
                if (pool.NextBlock is null)
                {
                    // pool_alloc_page: the dma_alloc_coherent of `allocation` bytes just before
                    if (TakeRecent(e.Device, pool.Allocation) is { } page) pool.AddPage(page);
                    else
                    {
                        pool.AddPage(e.DmaAddr); // a page the trace does not show: anchored on this block, not compared
                        pool.Alloc();
                        s.PeakActive = Math.Max(s.PeakActive, pool.Active);
                        break;
                    }
                }
                ulong block = pool.Alloc();
                _poolCompared++;
                if (block == e.DmaAddr) _poolExact++;
                s.PeakActive = Math.Max(s.PeakActive, pool.Active);
                break;
            case DmaEventKind.DmaPoolFree when _pools.TryGetValue(key, out var s):
                s.Pool.Free(e.DmaAddr);
                break;
            case DmaEventKind.DmaPoolDestroy when _pools.Remove(key, out var s):
                s.Destroyed = true;
                break;
        }
    }

    public void Advance(long nowNs)
    {
        if (_atomic.Advance(nowNs)) RecordAtomic(nowNs);
    }

    private void Start(long nowNs)
    {
        if (_any) return;
        _any = true;
        for (int z = 0; z < 3; z++)
        {
            if (_atomic.Pool((AtomicZone)z) is not { } g) continue;
            _used[z] = new DownsampledSeries(nowNs);
            _size[z] = new DownsampledSeries(nowNs, initialLevel: (long)g.Size);
        }
    }

    private void RecordAtomic(long nowNs)
    {
        for (int z = 0; z < 3; z++)
        {
            if (_atomic.Pool((AtomicZone)z) is not { } g) continue;
            long used = (long)(g.Size - g.Avail);
            _used[z]!.Record(nowNs, used);
            _size[z]!.Record(nowNs, (long)g.Size);
            _peakUsed[z] = Math.Max(_peakUsed[z], used);
        }
    }

    /// <summary>dma_coherent_ok for a pool: its zone lies below the device's limit (the kernel pool: all of RAM).</summary>
    private bool PoolReaches(AtomicZone z, DeviceModel dev)
    {
        ulong limit = dev.BusDmaLimit == 0 ? dev.CoherentMask : Math.Min(dev.CoherentMask, dev.BusDmaLimit);
        ulong top = z switch
        {
            AtomicZone.Dma => platform.Allocation.ZoneDmaLimit,
            AtomicZone.Dma32 => Math.Min(platform.Kernel.ZoneDma32Limit, Math.Max(platform.RamEnd, 1) - 1),
            _ => Math.Max(platform.RamEnd, 1) - 1,
        };
        return top <= limit;
    }

    private void CompareAtomic(AtomicZone zone, int chunk, ulong offset, ulong recorded)
    {
        if (!_chunkBase.TryGetValue((zone, chunk), out ulong b))
        {
            _chunkBase[(zone, chunk)] = recorded - offset; // the first allocation places the chunk
            return;
        }
        _atomicCompared++;
        if (b + offset == recorded) _atomicExact++;
    }

    private static bool Compare(ulong? emulated, DmaEvent e, bool recordedFailed, ref long compared, ref long exact)
    {
        if (emulated is null) return false;
        if (!recordedFailed)
        {
            compared++;
            if (emulated == e.DmaAddr) exact++;
        }
        return true;
    }

    private DevCoherentMem? DevMem(int device, DeviceModel dev)
    {
        if (!_devMem.TryGetValue(device, out var m))
            _devMem[device] = m = dev.CoherentMem is { } r ? new DevCoherentMem(r.DeviceBase, r.Size, platform.Kernel.PageShift) : null;
        return m;
    }

    private void Remember(int device, ulong dma, ulong size)
    {
        if (!_recentAllocs.TryGetValue(device, out var list)) _recentAllocs[device] = list = [];
        list.Add((dma, size));
        if (list.Count > 16) list.RemoveAt(0);
    }

    private ulong? TakeRecent(int device, ulong size)
    {
        if (!_recentAllocs.TryGetValue(device, out var list)) return null;
        for (int i = list.Count - 1; i >= 0; i--)
        {
            if (list[i].Size != size) continue;
            ulong dma = list[i].Dma;
            list.RemoveAt(i);
            return dma;
        }
        return null;
    }

    /// <summary>The report; null when the trace allocated nothing and used no dma_pool.</summary>
    public PoolsReport? Report(long endNs)
    {
        if (!_any) return null;
        Advance(endNs);
        var sources = _sources.OrderBy(kv => strings.Device(kv.Key.Device), StringComparer.Ordinal).ThenBy(kv => kv.Key.Source)
            .Select(kv => new AllocationSourceCount(strings.Device(kv.Key.Device), kv.Key.Source.Name(), kv.Value.Allocations, kv.Value.Failures, kv.Value.Bytes))
            .ToList();
        var atomic = new List<AtomicPoolReport>();
        foreach (var z in (ReadOnlySpan<AtomicZone>)[AtomicZone.Dma, AtomicZone.Dma32, AtomicZone.Kernel])
        {
            if (_atomic.Pool(z) is not { } g) continue;
            int i = (int)z;
            atomic.Add(new AtomicPoolReport(AtomicPools.Name(z), AtomicPools.GfpName(z), _atomic.InitialSize[i], g.Size, g.Chunks - 1,
                (ulong)_peakUsed[i], g.Size - g.Avail, _failures[i], _used[i]!.Points(), _size[i]!.Points()));
        }
        var pools = _allPools.Select(p => new DmaPoolReport(strings.Device(p.Device), p.Pool.Name, p.Pool.Size, p.Pool.Allocation, p.Pool.Boundary,
            p.Pool.Pages, p.Pool.Blocks, p.PeakActive, p.Pool.Active, p.Destroyed)).ToList();
        return new PoolsReport(_atomic.AtomicPoolSize, _atomic.ExpandDelayNs, sources, atomic, pools,
            new FailureTally(_failRecorded, _failPredicted, _failMatched),
            _poolCompared > 0 ? new Tally(_poolCompared, _poolExact) : null,
            _devCompared > 0 ? new Tally(_devCompared, _devExact) : null,
            _atomicCompared > 0 ? new Tally(_atomicCompared, _atomicExact) : null);
    }
}

/// <summary>Allocations of one device from one source (dev-coherent, atomic-pool-dma32, pages-normal, …); failures are the emulation's.</summary>
public sealed record AllocationSourceCount(string Device, string Source, long Allocations, long PredictedFailures, ulong Bytes);

/// <summary>One atomic pool: its boot size, size at the end (chunks the worker added), peak and final use, failures, and its use and size over time.</summary>
public sealed record AtomicPoolReport(string Zone, string Gfp, ulong InitialBytes, ulong SizeAtEnd, int Expansions, ulong PeakUsedBytes, ulong UsedAtEnd,
    long Failures, IReadOnlyList<SeriesPoint> Used, IReadOnlyList<SeriesPoint> Size);

/// <summary>One dma_pool: its geometry, pages and blocks carved, blocks in use at the peak and at the end, and whether it was destroyed.</summary>
public sealed record DmaPoolReport(string Device, string Name, ulong BlockSize, ulong Allocation, ulong Boundary, int Pages, long Blocks,
    long PeakActive, long ActiveAtEnd, bool Destroyed);

/// <summary>
/// The allocation side of a replay: atomic_pool_size and the worker delay assumed, sources per
/// device, the atomic pools, the dma_pools, allocation failures (recorded, predicted, both), and
/// the address agreement where the emulation decides it (null when nothing was compared).
/// </summary>
public sealed record PoolsReport(ulong AtomicPoolSize, long ExpandDelayNs, IReadOnlyList<AllocationSourceCount> Sources,
    IReadOnlyList<AtomicPoolReport> AtomicPools, IReadOnlyList<DmaPoolReport> DmaPools, FailureTally AllocationFailures,
    Tally? DmaPoolAgreement, Tally? DevCoherentAgreement, Tally? AtomicPoolAgreement)
{
    /// <summary>
    /// Whether <see cref="AllocationFailures"/> compares anything: an allocation failed in the
    /// trace or in the emulation, or an allocator that decides success here (a dma_pool, the
    /// device's or the global coherent memory, the atomic pools) compared an address. Pages from
    /// the buddy allocator or CMA are taken to succeed, so their 0/0/0 compares nothing and the
    /// agreement tables leave the row out (replays of traces without pools keep their reports).
    /// </summary>
    public bool AllocationFailuresCompared =>
        AllocationFailures.Recorded > 0 || AllocationFailures.Predicted > 0
        || DmaPoolAgreement is not null || DevCoherentAgreement is not null || AtomicPoolAgreement is not null;
}
