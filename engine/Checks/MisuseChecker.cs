using System.Runtime.CompilerServices;
using DmaReplay.Engine.Findings;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

/// <summary>
/// The CONFIG_DMA_API_DEBUG checks, run offline on a trace: every map, release and sync is put
/// through dma-debug's own data model and lookups (kernel/dma/debug.c), and every violation is a
/// <see cref="Finding"/> — all occurrences, not only the first. On top, the checks the kernel
/// cannot make from inside: double releases told apart from never-mapped addresses, releases on
/// the wrong device, sync overruns, reuse of an error handle, and leaks at the end of the trace.
/// </summary>
/// <remarks>One instance per input. Entries are pooled, so memory follows the live mappings.</remarks>
public sealed partial class MisuseChecker : ITraceEventHandler
{
    private readonly CheckOptions _options;
    private readonly TraceStrings _strings;
    private readonly string _input;
    private readonly FindingSink _sink;
    private readonly DmaDebugHash _hash = new();
    private readonly ActiveCachelines _cachelines;
    private readonly ReleasedMappings _released = new();
    private readonly ScatterGatherLists _sgLists = new();
    private readonly Dictionary<int, EventOrigin> _lastFailedMap = new();
    private long _mapCalls;
    private long _lastTimestampNs;

    public MisuseChecker(CheckOptions options, TraceStrings strings, string inputName)
        : this(options, new FindingSink(options, strings, inputName)) { }

    /// <summary>A checker reporting into a sink shared with the other checks of the input.</summary>
    public MisuseChecker(CheckOptions options, FindingSink sink)
    {
        _options = options;
        _sink = sink;
        _strings = sink.Strings;
        _input = sink.Input;
        _cachelines = new ActiveCachelines(System.Numerics.BitOperations.Log2((uint)options.Platform.L1CacheBytes));
    }

    public IReadOnlyList<Finding> Findings => _sink.Findings;

    /// <summary>Suppressed findings are counted, not kept.</summary>
    public long Suppressed => _sink.Suppressed;

    public void OnEvent(DmaEvent e)
    {
        _lastTimestampNs = e.TimestampNs;
        switch (e.Kind)
        {
            case DmaEventKind.DmaMapPage or DmaEventKind.DmaMapResource or DmaEventKind.DmaMapPhys:
                MapSingle(e);
                if (_traceBounces.Pending) _traceBounces.Consumed(e.Cpu);
                break;
            case DmaEventKind.DmaMapSg:
                MapSg(e);
                if (_traceBounces.Pending) _traceBounces.Consumed(e.Cpu);
                break;
            case DmaEventKind.SwiotlbBounced:
                _traceBounces.Add(e);
                break;
            case DmaEventKind.DmaMapSgErr or DmaEventKind.DmaAllocSgtErr:
                MapFailed(e);
                break;
            case DmaEventKind.DmaAlloc or DmaEventKind.DmaAllocPages:
                Alloc(e);
                break;
            case DmaEventKind.DmaAllocSgt:
                AllocSgt(e);
                break;
            case DmaEventKind.DmaUnmapPage or DmaEventKind.DmaUnmapResource or DmaEventKind.DmaUnmapPhys:
                CheckUnmap(new DebugRef(e.Device, e.DmaAddr, e.Size, DebugEntryTypes.Of(e.Kind), e.Direction, 0, 0), e);
                break;
            case DmaEventKind.DmaFree or DmaEventKind.DmaFreePages:
                var type = DebugEntryTypes.Of(e.Kind);
                var dir = type == DebugEntryType.Coherent ? DmaDirection.Bidirectional : e.Direction;
                CheckUnmap(new DebugRef(e.Device, e.DmaAddr, e.Size, type, dir, 0, e.VirtAddr), e);
                break;
            case DmaEventKind.DmaFreeSgt:
                CheckUnmap(new DebugRef(e.Device, e.DmaAddr, e.Size, DebugEntryType.Sg, e.Direction, e.PhysAddrs.Length, 0), e);
                break;
            case DmaEventKind.DmaUnmapSg:
                UnmapSg(e);
                break;
            case DmaEventKind.DmaSyncSingleForCpu or DmaEventKind.DmaSyncSingleForDevice:
                CheckSync(new DebugRef(e.Device, e.DmaAddr, e.Size, DebugEntryType.Single, e.Direction, 0, 0), e,
                    toCpu: e.Kind == DmaEventKind.DmaSyncSingleForCpu);
                break;
            case DmaEventKind.DmaSyncSgForCpu or DmaEventKind.DmaSyncSgForDevice:
                SyncSg(e);
                break;
        }
    }

    // Findings are rare; not inlined, so that no hot method carries their formatting in its frame.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Report(string rule, string message, EventOrigin at, int device, ulong dmaAddr, ulong size,
        DmaDirection direction, EventOrigin? related) =>
        _sink.Report(rule, $"DMA-API: {_strings.Device(device)}: {message}", _strings.Device(device), at, dmaAddr, size, direction, related);

    private void Report(string rule, string message, DmaEvent e, ulong dmaAddr, ulong size, DmaDirection direction, EventOrigin? related) =>
        Report(rule, message, EventOrigin.Of(e), e.Device, dmaAddr, size, direction, related);

    private static string Hex16(ulong v) => "0x" + v.ToString("x16");
}
