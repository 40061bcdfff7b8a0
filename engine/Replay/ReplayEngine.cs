using DmaReplay.Engine.Direct;
using DmaReplay.Engine.Iommu;
using DmaReplay.Engine.Iommu.Hardware;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Summary;
using DmaReplay.Engine.Swiotlb;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// Re-executes a trace's maps and releases on an emulated DMA stack (dma-direct, SWIOTLB, dma-iommu)
/// and compares every returned address with the one the kernel returned. Later unmaps and syncs
/// are translated from the recorded handle to the emulated one, so a what-if platform replays the
/// same driver behaviour; the checks downstream see the emulated handles.
/// </summary>
/// <remarks>
/// swiotlb_bounced is emitted at the start of swiotlb_map(), before the slot search, on the CPU
/// that maps: when the emulated platform bounces that buffer too, the slots are taken right there,
/// at the kernel's moment, and the map event that follows reads the result. Bounces no map event
/// claims are the entries of a dma_map_sg that failed (it leaves no dma event): their slots are
/// released as dma-direct unmaps the mapped prefix.
/// </remarks>
public sealed partial class ReplayEngine : ITraceEventHandler
{
    public const int MaxMismatches = 20;
    /// <summary>
    /// The largest-free-run scan walks every slot, so it is sampled every nslabs/8 pool operations
    /// (at least 64): about 8 slots of scanning per operation, whatever the pool size.
    /// </summary>
    private readonly int _freeRunSampleEvery;
    /// <summary>IO_TLB_SIZE − 1 and IO_TLB_SHIFT, read per release.</summary>
    private readonly ulong _slotMask;
    private readonly int _slotShift;

    private readonly PlatformModel _platform;
    private readonly CaptureFacts? _capture;
    private readonly TraceStrings _strings;
    private readonly string _input;
    private readonly ITraceEventHandler? _downstream;
    private readonly SwiotlbMem? _swiotlb;
    private readonly DmaIommu _iommu;
    private long _lastNs;
    /// <summary>
    /// The event going downstream: the input event itself, whose handles each handler replaces
    /// with the emulated ones as its last step (the reader refills it only after the call returns).
    /// </summary>
    private DmaEvent _out = null!;
    private readonly DmaEvent _tail = new();
    private DeviceModel?[] _models = new DeviceModel?[16];
    private BounceDevice[] _bounceDevs = new BounceDevice[16];
    private Func<ulong, ulong>[] _toDma = new Func<ulong, ulong>[16];
    private readonly Dictionary<(int Cpu, int Pid, bool Irq), List<PendingBounce>> _pending = new();
    private readonly Dictionary<(int Device, ulong Recorded), LiveMap> _live = new();
    private readonly Dictionary<(int Device, ulong FirstPhys), LiveSg> _liveSg = new();
    private readonly List<Mismatch> _mismatches = [];
    private readonly RecentTranslations _recent = new();
    private readonly Dictionary<int, DeviceStats> _deviceStats = new();
    private DeviceStats?[] _statsCache = new DeviceStats?[16];
    private ulong[] _scratch = new ulong[16];
    private readonly DownsampledSeries[]? _areaSeries;
    private DownsampledSeries? _usedSeries, _failureSeries, _freeRunSeries;
    private int _freeRunCountdown = 1;
    private bool PendingAny => _pending.Count > 0;
    private bool _started;

    // agreement
    private long _directCompared, _directExact, _swiotlbCompared, _swiotlbExact; // _iommu* in ReplayEngine.Iommu.cs
    private long _failRecorded, _failPredicted, _failMatched, _mismatchCount;
    /// <summary>Handles the kernel returned where the emulated map failed: in the what-if the driver saw the failure.</summary>
    private readonly HashSet<(int Device, ulong Recorded)> _failedHere = [];
    private long _notReplayed;
    /// <summary>The current event stays here: a release or sync of a map the emulation failed.</summary>
    private bool _drop;
    // bytes by operation and search cost
    private long _bytesMap, _bytesUnmap, _bytesSyncDev, _bytesSyncCpu, _searches, _maxSteps;

    public ReplayEngine(PlatformModel platform, CaptureFacts? capture, bool platformIsCaptureOwn, TraceStrings strings,
        string inputName, ITraceEventHandler? downstream, Cost.CostModel? cost = null)
    {
        if (cost is not null) _cost = new Cost.CostMeter(cost);
        _platform = platform;
        _slotMask = (ulong)platform.Kernel.IoTlbSize - 1;
        _slotShift = platform.Kernel.IoTlbShift;
        _capture = capture;
        IsCaptureOwn = platformIsCaptureOwn;
        _strings = strings;
        _input = inputName;
        _downstream = downstream;
        if (platform.Swiotlb.Active && platform.Swiotlb.Start is not null)
        {
            _swiotlb = new SwiotlbMem(platform.Swiotlb, platform.Kernel);
            _freeRunSampleEvery = Math.Max(64, platform.Swiotlb.Nslabs / 8);
            _areaSeries = new DownsampledSeries[platform.Swiotlb.Nareas];
        }
        _iommu = new DmaIommu(platform, _swiotlb);
        _order = new IommuEventOrder(Process);
        var iotlb = platform.Iommu.Iotlb;
        _hardware = new IommuHardware(iotlb, platform.Iommu.DeviceAccess);
        var witness = platformIsCaptureOwn ? new PageTableWitness(this) : null;
        _iommu.PageTableFor = d =>
        {
            var hw = _hardware.Attach(IoPageTable.LevelsFor(platform.Iommu.ApertureEnd));
            _hardwareDomains[d] = hw;
            return witness is null ? hw : new PageTableObservers(witness, hw);
        };
    }

    private readonly IommuEventOrder _order;
    private readonly IommuHardware _hardware;
    private readonly Dictionary<IommuDmaDomain, IommuHardware.Domain> _hardwareDomains = new();

    public bool IsCaptureOwn { get; }

    private sealed class PendingBounce
    {
        public int Device;
        public ulong Orig;
        public ulong Size;
        public long Line;
        /// <summary>Null when the emulated platform does not bounce this buffer.</summary>
        public BounceResult? Result;
    }

    /// <summary>A live streaming mapping: the handle the driver got in the trace and ours.</summary>
    private sealed class LiveMap
    {
        public ulong Emulated;
        public ulong Size;
        public bool Bounced;
        /// <summary>dma-iommu: the bounce buffer behind the IOVA (dma-direct reads it back from the address).</summary>
        public ulong BouncePhys;
        public LiveMap? Next; // the same recorded handle mapped again (dma-direct without IOMMU)
    }

    /// <summary>
    /// A live dma_map_sg: its entries' physical addresses (Count) and its DMA segments as recorded
    /// and as emulated (Segments: one per entry under dma-direct, merged under dma-iommu).
    /// Pooled: the arrays are reused.
    /// </summary>
    private sealed class LiveSg
    {
        public int Count, Segments;
        public ulong[] Phys = new ulong[16];
        public ulong[] Recorded = new ulong[16];
        public ulong[] Emulated = new ulong[16];
        public ulong[] Lengths = new ulong[16];
        public bool[] Bounced = new bool[16];
        public ulong[] BouncePhys = new ulong[16];
        public PendingBounce?[] Claimed = new PendingBounce?[16];
        public LiveSg? Next;

        public void Reset(int n)
        {
            if (Phys.Length < n)
            {
                int size = Math.Max(n, Phys.Length * 2);
                Phys = new ulong[size];
                Recorded = new ulong[size];
                Emulated = new ulong[size];
                Lengths = new ulong[size];
                Bounced = new bool[size];
                BouncePhys = new ulong[size];
                Claimed = new PendingBounce?[size];
            }
            Count = Segments = n;
            Array.Clear(Bounced, 0, n);
            Array.Clear(Claimed, 0, n);
            Next = null;
        }
    }

    private readonly Stack<LiveSg> _freeSg = new();
    private LiveMap? _freeMaps;

    private sealed class DeviceStats
    {
        public long Bounces, Failures, BytesTo, BytesFrom, Slots, PeakSlots;
    }

    /// <remarks>The event is changed: its handles become the emulated ones before it goes downstream.</remarks>
    public void OnEvent(DmaEvent e)
    {
        if (_order.Idle && e.Kind != DmaEventKind.IommuMap) Process(e); // what _order would do, without its lookups
        else _order.OnEvent(e);
    }

    private void Process(DmaEvent e)
    {
        if (!_started)
        {
            _started = true;
            Start(e.TimestampNs);
        }
        _out = e; // translated in place at the end of each handler: no copy of every event and its sg arrays
        WitnessReset();
        _lastNs = Math.Max(_lastNs, e.TimestampNs);
        if (PendingAny && e.Kind != DmaEventKind.SwiotlbBounced && !e.Kind.IsMapOrAlloc()) FlushOrphans(e);
        if (IsCaptureOwn) PageTableTrack(e);
        if (_cost is null) Dispatch(e);
        else DispatchCosted(e);
        _ptEvent = null;
        if (PendingAny) _tail.CopyFrom(e); // what Finish fails the unclaimed bounces at
        if (_drop) _drop = false;
        else _downstream?.OnEvent(_out);
    }

    private void Dispatch(DmaEvent e)
    {
        switch (e.Kind)
        {
            case DmaEventKind.SwiotlbBounced:
                Bounced(e);
                break;
            case DmaEventKind.DmaMapPage or DmaEventKind.DmaMapPhys or DmaEventKind.DmaMapResource:
                MapSingle(e);
                break;
            case DmaEventKind.DmaMapSg:
                MapSg(e);
                break;
            case DmaEventKind.DmaUnmapPage or DmaEventKind.DmaUnmapPhys or DmaEventKind.DmaUnmapResource:
                UnmapSingle(e);
                break;
            case DmaEventKind.DmaUnmapSg:
                UnmapSg(e);
                break;
            case DmaEventKind.DmaSyncSingleForCpu or DmaEventKind.DmaSyncSingleForDevice:
                SyncSingle(e);
                break;
            case DmaEventKind.DmaSyncSgForCpu or DmaEventKind.DmaSyncSgForDevice:
                SyncSg(e);
                break;
            case DmaEventKind.DmaAlloc: // dma-iommu last: it replaces the recorded handle the others read
                CoherencyAlloc(e);
                AllocPools(e);
                AllocIommu(e);
                break;
            case DmaEventKind.DmaFree:
                FreePools(e);
                FreeIommu(e);
                break;
            case >= DmaEventKind.DmaPoolCreate and <= DmaEventKind.DmaPoolFree:
                PoolEvent(e);
                break;
        }
    }

    /// <summary>The page-table witness: recorded iommu updates are queued, a DMA API call opens its context's turn.</summary>
    private void PageTableTrack(DmaEvent e)
    {
        switch (e.Kind)
        {
            case DmaEventKind.IommuMap or DmaEventKind.IommuUnmap:
                PageTableRecorded(e);
                break;
            case DmaEventKind.DmaUnmapPage or DmaEventKind.DmaUnmapPhys or DmaEventKind.DmaUnmapResource or DmaEventKind.DmaUnmapSg or DmaEventKind.DmaFree:
                PageTableBegin(e, maps: false);
                _ptEvent = e;
                break;
            case var k when IommuEventOrder.MapsIova(k):
                PageTableBegin(e, maps: true);
                _ptEvent = e;
                break;
        }
    }

    private void Start(long originNs)
    {
        if (_swiotlb is null) return;
        for (int a = 0; a < _areaSeries!.Length; a++) _areaSeries[a] = new DownsampledSeries(originNs);
        _usedSeries = new DownsampledSeries(originNs);
        _failureSeries = new DownsampledSeries(originNs);
        _freeRunSeries = new DownsampledSeries(originNs, initialLevel: _platform.Kernel.IoTlbSegSize); // an empty pool: whole segments free
    }

    private DeviceModel Model(int device)
    {
        if (device >= _models.Length)
        {
            Array.Resize(ref _models, Math.Max(device + 1, _models.Length * 2));
            Array.Resize(ref _bounceDevs, _models.Length);
            Array.Resize(ref _toDma, _models.Length);
        }
        return _models[device] ?? AddModel(device);
    }

    // Apart from Model(): a lambda capturing the model there would allocate its closure on every call.
    private DeviceModel AddModel(int device)
    {
        var m = _platform.Device(_strings.Device(device));
        _models[device] = m;
        _bounceDevs[device] = new BounceDevice(m.MinAlignMask, m.SegmentBoundaryMask);
        _toDma[device] = phys => DmaDirect.PhysToDmaUnencrypted(m, phys); // one delegate per device, not per bounce
        return m;
    }

    /// <summary>Per bounce and release: an array slot, the dictionary (which orders the report) only the first time.</summary>
    private DeviceStats Stats(int device) =>
        (uint)device < (uint)_statsCache.Length && _statsCache[device] is { } s ? s : AddStats(device);

    private DeviceStats AddStats(int device)
    {
        if (!_deviceStats.TryGetValue(device, out var s)) _deviceStats[device] = s = new DeviceStats();
        if (device >= 0)
        {
            if (device >= _statsCache.Length) Array.Resize(ref _statsCache, Math.Max(device + 1, _statsCache.Length * 2));
            _statsCache[device] = s;
        }
        return s;
    }

    private void Mismatched(DmaEvent e, string kind, ulong phys, ulong size, ulong recorded, ulong predicted) =>
        Mismatched(e.Position.Line, kind, e.Device, phys, size, recorded, predicted);

    /// <summary>Every mismatch is counted; the first <see cref="MaxMismatches"/> are kept for the reports.</summary>
    private void Mismatched(long line, string kind, int device, ulong phys, ulong size, ulong recorded, ulong predicted)
    {
        _mismatchCount++;
        if (_mismatches.Count < MaxMismatches)
            _mismatches.Add(new Mismatch(_input, line, kind, _strings.Device(device), phys, size, recorded, predicted));
    }
}
