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
    private readonly DmaDebugHash _hash = new();
    private readonly ActiveCachelines _cachelines;
    private readonly ReleasedMappings _released = new();
    private readonly ScatterGatherLists _sgLists = new();
    private readonly Dictionary<int, EventOrigin> _lastFailedMap = new();
    private readonly List<Finding> _findings = [];
    private long _mapCalls;
    private long _lastTimestampNs;

    public MisuseChecker(CheckOptions options, TraceStrings strings, string inputName)
    {
        _options = options;
        _strings = strings;
        _input = inputName;
        _cachelines = new ActiveCachelines(System.Numerics.BitOperations.Log2((uint)options.Platform.L1CacheBytes));
    }

    public IReadOnlyList<Finding> Findings => _findings;

    /// <summary>Suppressed findings are counted, not kept.</summary>
    public long Suppressed { get; private set; }

    public void OnEvent(DmaEvent e)
    {
        _lastTimestampNs = e.TimestampNs;
        switch (e.Kind)
        {
            case DmaEventKind.DmaMapPage or DmaEventKind.DmaMapResource or DmaEventKind.DmaMapPhys:
                MapSingle(e);
                break;
            case DmaEventKind.DmaMapSg:
                MapSg(e);
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

    private bool Enabled(string rule) => _options.EnabledRules.Contains(rule);

    // Findings are rare; not inlined, so that no hot method carries their formatting in its frame.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Report(string rule, string message, DmaEvent? e, EventOrigin at, int device, ulong dmaAddr, ulong size,
        DmaDirection direction, EventOrigin? related)
    {
        if (!Enabled(rule)) return;
        var info = Rules.Find(rule)!;
        var finding = new Finding(
            rule, info.Severity, $"DMA-API: {_strings.Device(device)}: {message}", _strings.Device(device), dmaAddr, size,
            direction.TraceName(), _input, at.Line, at.TimestampNs, at.Cpu, at.Pid, _strings.Task(at.Task),
            related is { } r ? new RelatedEvent(_input, r.Line, r.TimestampNs) : null,
            Frames(at.Stack), related is { } rs ? Frames(rs.Stack) : []);
        if (_options.Suppressions.Suppresses(finding))
        {
            Suppressed++;
            return;
        }
        _findings.Add(finding);
    }

    private void Report(string rule, string message, DmaEvent e, ulong dmaAddr, ulong size, DmaDirection direction, EventOrigin? related) =>
        Report(rule, message, e, EventOrigin.Of(e), e.Device, dmaAddr, size, direction, related);

    private IReadOnlyList<string> Frames(int stack)
    {
        if (stack < 0) return [];
        var ids = _strings.Stacks[stack];
        var frames = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++) frames[i] = _strings.Functions[ids[i]];
        return frames;
    }

    private static string Hex16(ulong v) => "0x" + v.ToString("x16");
}
