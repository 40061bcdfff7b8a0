using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Fences;

/// <summary>
/// The dma_fence events of a trace (include/trace/events/dma_fence.h): every fence from init
/// through emit, enable_signal, waits and signaled to destroy, per context (timeline) and seqno.
/// Checks the fence rules and measures latencies per driver and timeline.
/// </summary>
/// <remarks>
/// A fence is (context, seqno); a new dma_fence_init of a pair already seen starts a new fence
/// (a born-signaled regression can reuse a seqno). Fences of one context must signal in seqno
/// order (dma_fence_is_later), so a seqno below one already initialized on the context is a
/// regression.
/// </remarks>
public sealed class FenceChecker(FindingSink sink) : ITraceEventHandler
{
    private readonly Dictionary<(uint Context, ulong Seqno), Fence> _live = new();
    private readonly List<Fence> _all = [];
    private readonly Dictionary<uint, ulong> _maxSeqno = new();
    private readonly HashSet<uint> _emittingContexts = [];

    private sealed class Fence
    {
        public int Driver, Timeline;
        public uint Context;
        public ulong Seqno;
        public EventOrigin Init;
        public long? EmitNs, SignaledNs;
        public EventOrigin? Signaled;
        public bool EnableSignal, Destroyed;
        public long? WaitStartNs;
        public readonly List<long> WaitNs = [];
    }

    public void OnEvent(DmaEvent e)
    {
        if (!e.Kind.IsFence()) return;
        var key = (e.Context, e.Seqno);
        if (e.Kind == DmaEventKind.DmaFenceInit)
        {
            Init(e, key);
            return;
        }
        if (!_live.TryGetValue(key, out var f))
        {
            // A fence initialized before the trace began: track it from here.
            f = New(e, key);
        }
        switch (e.Kind)
        {
            case DmaEventKind.DmaFenceEmit:
                f.EmitNs ??= e.TimestampNs;
                _emittingContexts.Add(e.Context);
                break;
            case DmaEventKind.DmaFenceEnableSignal:
                f.EnableSignal = true;
                break;
            case DmaEventKind.DmaFenceSignaled:
                Signaled(e, f);
                break;
            case DmaEventKind.DmaFenceWaitStart:
                f.WaitStartNs = e.TimestampNs;
                break;
            case DmaEventKind.DmaFenceWaitEnd:
                if (f.WaitStartNs is { } start) f.WaitNs.Add(e.TimestampNs - start);
                f.WaitStartNs = null;
                break;
            case DmaEventKind.DmaFenceDestroy:
                f.Destroyed = true;
                if (f.SignaledNs is null)
                    Report(Rules.FenceDestroyUnsignaled, f, e, "destroyed before it was signaled", f.Init);
                _live.Remove(key);
                break;
        }
    }

    private void Init(DmaEvent e, (uint, ulong) key)
    {
        if (_maxSeqno.TryGetValue(e.Context, out ulong max) && e.Seqno < max)
        {
            var f0 = New(e, key);
            Report(Rules.FenceSeqnoRegression, f0, e, $"seqno goes backwards: {e.Seqno} after {max} on this context", null);
            return;
        }
        New(e, key);
    }

    private Fence New(DmaEvent e, (uint Context, ulong Seqno) key)
    {
        var f = new Fence
        {
            Driver = e.Driver, Timeline = e.Timeline, Context = e.Context, Seqno = e.Seqno, Init = EventOrigin.Of(e),
        };
        _live[key] = f;
        _all.Add(f);
        _maxSeqno[e.Context] = Math.Max(_maxSeqno.GetValueOrDefault(e.Context), e.Seqno);
        return f;
    }

    private void Signaled(DmaEvent e, Fence f)
    {
        if (f.Signaled is { } first)
        {
            Report(Rules.FenceDoubleSignal, f, e, $"signaled again (first at line {first.Line})", first);
            return;
        }
        if (f.EmitNs is null && _emittingContexts.Contains(f.Context))
            Report(Rules.FenceSignalBeforeEmit, f, e, "signaled before it was emitted", f.Init);
        f.Signaled = EventOrigin.Of(e);
        f.SignaledNs = e.TimestampNs;
    }

    /// <summary>End of the input: fences never signaled, worse when something waited on them.</summary>
    public void Finish()
    {
        foreach (var f in _all)
        {
            if (f.SignaledNs is not null) continue;
            bool awaited = f.EnableSignal || f.WaitNs.Count > 0 || f.WaitStartNs is not null;
            string why = awaited ? ": something waited on it or enabled signaling" : "";
            sink.Report(Rules.FenceNeverSignaled, Message(f, "never signaled in the trace" + why + (f.Destroyed ? " (destroyed)" : "")),
                Name(f), f.Init, 0, f.Seqno, DmaDirection.None, null, awaited ? Severity.Error : null);
        }
    }

    private void Report(string rule, Fence f, DmaEvent e, string what, EventOrigin? related) =>
        sink.Report(rule, Message(f, what), Name(f), EventOrigin.Of(e), 0, f.Seqno, DmaDirection.None, related);

    private string Name(Fence f) => $"{sink.Strings.TextOf(f.Driver)}:{sink.Strings.TextOf(f.Timeline)}";

    private string Message(Fence f, string what) =>
        $"dma_fence: {sink.Strings.TextOf(f.Driver)} timeline {sink.Strings.TextOf(f.Timeline)} context={f.Context} seqno={f.Seqno}: {what}";

    /// <summary>Per driver and timeline: fences, how many signaled, and the latencies.</summary>
    public IReadOnlyList<FenceTimeline> Timelines() =>
        _all.GroupBy(f => (f.Driver, f.Timeline, f.Context))
            .Select(g => new FenceTimeline(
                sink.Strings.TextOf(g.Key.Driver), sink.Strings.TextOf(g.Key.Timeline), g.Key.Context,
                g.Count(), g.Count(f => f.SignaledNs is not null),
                Latency.Of(g.Where(f => f.SignaledNs is not null && f.EmitNs is not null).Select(f => f.SignaledNs!.Value - f.EmitNs!.Value)),
                Latency.Of(g.Where(f => f.SignaledNs is not null).Select(f => f.SignaledNs!.Value - f.Init.TimestampNs)),
                Latency.Of(g.SelectMany(f => f.WaitNs))))
            .ToList();
}

/// <summary>One fence timeline (context) of a driver, as a report row.</summary>
public sealed record FenceTimeline(string Driver, string Timeline, uint Context, int Fences, int Signaled,
    Latency EmitToSignaled, Latency InitToSignaled, Latency Wait);

/// <summary>A latency distribution in nanoseconds (nearest-rank percentiles).</summary>
public sealed record Latency(int Count, long MinNs, long MedianNs, long P90Ns, long MaxNs)
{
    public static Latency Of(IEnumerable<long> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) return new Latency(0, 0, 0, 0, 0);
        long Rank(double p) => v[Math.Clamp((int)Math.Ceiling(p * v.Length) - 1, 0, v.Length - 1)];
        return new Latency(v.Length, v[0], Rank(0.5), Rank(0.9), v[^1]);
    }
}
