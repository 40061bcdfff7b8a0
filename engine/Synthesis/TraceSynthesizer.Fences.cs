using System.Text;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// The fence workload (<see cref="SynthWorkloads.Fences"/>) and the faults of the five fence rules.
/// A GPU-like driver with two rings, each a fence context (timeline) of increasing seqnos, writes
/// the dma_fence events of include/trace/events/dma_fence.h in the kernel's order, interleaved
/// with the DMA traffic.
/// </summary>
/// <remarks>
/// <para>Per fence: <c>dma_fence_init</c> and <c>dma_fence_emit</c> from the submitter (the seqno
/// is <c>++fctx-&gt;sequence</c> at init, the emit right after it, as drivers that trace the emit
/// do); sometimes a waiter in another task: <c>dma_fence_wait_timeout</c> first enables signaling
/// (<c>dma_fence_enable_signal</c>, under the fence lock: flags <c>d..1.</c>) and then traces
/// <c>dma_fence_wait_start</c>, and <c>dma_fence_wait_end</c> once the fence signaled;
/// <c>dma_fence_signaled</c> from the completion worker under the fence lock (<c>d..1.</c>), in
/// seqno order per ring; <c>dma_fence_destroy</c> when the last reference goes, after the signal.
/// Flags and the order enable_signal → wait_start are those of the real capture
/// dev-fence-sw-sync. Format: <c>"driver=%s timeline=%s context=%u seqno=%u"</c>.</para>
/// <para>Every line a fence still owes (its waiter, signal, wait end and destroy) is reserved
/// when the fence is submitted, and the fences in flight at the end are completed before the
/// "workload end" marker: the workload alone gives no fence finding. Everything here draws from
/// its own random generator: without the workload and the fence faults the trace is byte for
/// byte what it was.</para>
/// <para>A fence fault is self-contained: its own context of the same driver (timeline
/// <c>fault</c>), all its lines written at once, so it needs no workload.</para>
/// </remarks>
public sealed partial class TraceSynthesizer
{
    /// <summary>The driver of the fence workload and the fence faults (dma_fence_ops.get_driver_name).</summary>
    public const string FenceDriver = "synth_gpu";
    /// <summary>The timeline (get_timeline_name) of the fault contexts.</summary>
    public const string FenceFaultTimeline = "fault";

    /// <summary>Chance at an arrival that a ring gets a new fence.</summary>
    private const double FenceSubmitRate = 0.08;
    private const double FenceWaiterChance = 0.35;
    private const double FenceMeanLatencyUs = 150;

    private sealed class FenceRing(string timeline, uint context, SynthTask submitter, SynthTask waiter, double weight)
    {
        public readonly byte[] Timeline = Encoding.ASCII.GetBytes(timeline);
        public readonly uint Context = context;
        public readonly SynthTask Submitter = submitter;
        /// <summary>The task that waits on this ring's fences, one wait at a time.</summary>
        public readonly SynthTask Waiter = waiter;
        public readonly double Weight = weight;
        public uint Seqno;
        public long LastSignalUs;
        /// <summary>When the waiter's current wait ends (the signal of the fence it waits on).</summary>
        public long WaiterBusyUntilUs;
    }

    private enum FenceStepKind : byte { Wait, Signal, WaitEnd, Destroy }

    private readonly record struct FenceStep(FenceStepKind Kind, FenceRing Ring, uint Seqno, int Cpu);

    private readonly Random _fenceRng;
    private readonly PriorityQueue<FenceStep, (long DueUs, long Order)> _fenceSteps = new();
    private long _fenceOrder;
    private FenceRing[] _rings = [];
    private uint _nextFenceContext = 1; // dma_fence_context_alloc: context 0 is the stub fence's
    private int _neverSignaledFaults;
    private static ReadOnlySpan<byte> FenceLocked => "d..1."u8;

    /// <summary>The completion worker, a per-CPU high-priority kworker: it runs on its CPU only.</summary>
    private SynthTask _fenceWorker = null!;
    private int _fenceWorkerCpu;

    /// <summary>
    /// GPU probe: one fence context per ring (gfx submitted by a client and waited on by the
    /// compositor, copy by TTM's worker and waited on by the client).
    /// </summary>
    private void ProbeFences()
    {
        _fenceWorkerCpu = Math.Min(1, _o.Cpus - 1);
        _fenceWorker = new SynthTask($"kworker/{_fenceWorkerCpu}:1H", 93);
        _rings =
        [
            new FenceRing("gfx", _nextFenceContext++, new SynthTask("glmark2", 1530), new SynthTask("Xwayland", 1402), 0.65),
            new FenceRing("copy", _nextFenceContext++, new SynthTask("kworker/u8:4", 97), new SynthTask("glmark2", 1533), 0.35),
        ];
    }

    /// <summary>At an arrival: the fence steps now due, or maybe a new fence; true when something was written.</summary>
    private bool MaybeFenceWork()
    {
        bool wrote = false;
        while (_fenceSteps.TryPeek(out _, out var due) && due.DueUs <= _nowUs)
        {
            WriteFenceStep(_fenceSteps.Dequeue());
            wrote = true;
        }
        if (wrote) return true;
        return _fenceRng.NextDouble() < FenceSubmitRate && FenceSubmit();
    }

    /// <summary>The end of the workload: the fences still in flight complete (the reserved lines).</summary>
    private void DrainFences()
    {
        while (_fenceSteps.TryDequeue(out var step, out var due))
        {
            _nowUs = Math.Max(_nowUs, due.DueUs); // the GPU takes the time it takes
            WriteFenceStep(step);
        }
    }

    /// <summary>A job on a ring: init and emit now, its later lines reserved and queued.</summary>
    private bool FenceSubmit()
    {
        var ring = _fenceRng.NextDouble() < _rings[0].Weight ? _rings[0] : _rings[1];
        bool waiter = _fenceRng.NextDouble() < FenceWaiterChance && ring.WaiterBusyUntilUs < _lastUs;
        int owed = (waiter ? 3 : 0) + 2; // [enable_signal, wait_start, wait_end], signaled, destroy
        if (!HasRoom(2 + owed)) return false;
        int cpu = _fenceRng.Next(0, _o.Cpus);
        uint seqno = ++ring.Seqno;
        FenceLine(ring.Submitter, cpu, Flags.Process, DmaEventKind.DmaFenceInit, ring.Timeline, ring.Context, seqno);
        FenceLine(ring.Submitter, cpu, Flags.Process, DmaEventKind.DmaFenceEmit, ring.Timeline, ring.Context, seqno);
        _reserve += owed;

        // The ring completes its jobs in order: each signal after the ring's previous one.
        long latency = 20 + (long)(-Math.Log(1 - _fenceRng.NextDouble()) * FenceMeanLatencyUs);
        long signalUs = Math.Max(_lastUs + latency, ring.LastSignalUs + 1);
        ring.LastSignalUs = signalUs;
        if (waiter)
        {
            // after the waiter's previous wait ended, before this signal
            QueueFence(_lastUs + _fenceRng.NextInt64(1, signalUs - _lastUs), FenceStepKind.Wait, ring, seqno);
            ring.WaiterBusyUntilUs = signalUs;
        }
        QueueFence(signalUs, FenceStepKind.Signal, ring, seqno);
        if (waiter) QueueFence(signalUs, FenceStepKind.WaitEnd, ring, seqno);
        QueueFence(signalUs + _fenceRng.Next(5, 200), FenceStepKind.Destroy, ring, seqno);
        return true;
    }

    private void QueueFence(long dueUs, FenceStepKind kind, FenceRing ring, uint seqno) =>
        _fenceSteps.Enqueue(new FenceStep(kind, ring, seqno, _fenceRng.Next(0, _o.Cpus)), (dueUs, _fenceOrder++));

    /// <summary>Writes one queued step: its lines were reserved at submit.</summary>
    private void WriteFenceStep(in FenceStep s)
    {
        var r = s.Ring;
        switch (s.Kind)
        {
            case FenceStepKind.Wait:
                OwedFenceLine(r.Waiter, s.Cpu, FenceLocked, DmaEventKind.DmaFenceEnableSignal, r, s.Seqno);
                OwedFenceLine(r.Waiter, s.Cpu, Flags.Process, DmaEventKind.DmaFenceWaitStart, r, s.Seqno);
                break;
            case FenceStepKind.Signal:
                OwedFenceLine(_fenceWorker, _fenceWorkerCpu, FenceLocked, DmaEventKind.DmaFenceSignaled, r, s.Seqno);
                break;
            case FenceStepKind.WaitEnd:
                OwedFenceLine(r.Waiter, s.Cpu, Flags.Process, DmaEventKind.DmaFenceWaitEnd, r, s.Seqno);
                break;
            default:
                OwedFenceLine(r.Submitter, s.Cpu, Flags.Process, DmaEventKind.DmaFenceDestroy, r, s.Seqno);
                break;
        }
    }

    private void OwedFenceLine(SynthTask t, int cpu, ReadOnlySpan<byte> flags, DmaEventKind kind, FenceRing r, uint seqno)
    {
        _reserve--; // the line reserved for it
        FenceLine(t, cpu, flags, kind, r.Timeline, r.Context, seqno);
    }

    // include/trace/events/dma_fence.h: "driver=%s timeline=%s context=%u seqno=%u"
    private bool FenceLine(SynthTask t, int cpu, ReadOnlySpan<byte> flags, DmaEventKind kind, ReadOnlySpan<byte> timeline, uint context, uint seqno)
    {
        if (!Begin(t, cpu, flags, EventName(kind))) return false;
        _report.CountEvent(kind);
        _w.Raw("driver="u8);
        _w.Raw("synth_gpu"u8);
        _w.Raw(" timeline="u8);
        _w.Raw(timeline);
        _w.Raw(" context="u8);
        _w.Dec(context);
        _w.Raw(" seqno="u8);
        _w.Dec(seqno);
        _w.End();
        return true;
    }

    // --- faults ----------------------------------------------------------------------------------

    private static bool IsFenceRule(string rule) => rule is Rules.FenceDoubleSignal or Rules.FenceSeqnoRegression
        or Rules.FenceNeverSignaled or Rules.FenceDestroyUnsignaled or Rules.FenceSignalBeforeEmit;

    /// <summary>
    /// A fence fault on a context of its own. What FenceChecker reports, and where: a second signal
    /// at its line (related: the first); a regressed seqno at its init (no related line); a fence
    /// never signaled at its init at the end of the input (a warning, an error when something
    /// waited on it or enabled signaling: the faults alternate); an unsignaled destroy at the
    /// destroy (related: the init) — that fence is never signaled either, a second finding; a signal
    /// before the emit on a context that emits, at the signal (related: the init).
    /// </summary>
    private bool InjectFenceFault(string rule)
    {
        var t = _buggy;
        int cpu = Cpu();
        var tl = "fault"u8;
        switch (rule)
        {
            case Rules.FenceDoubleSignal:
            {
                if (!HasRoom(5)) return false;
                uint ctx = _nextFenceContext++;
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceInit, tl, ctx, 1);
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceEmit, tl, ctx, 1);
                long first = NextLine;
                FenceLine(t, cpu, FenceLocked, DmaEventKind.DmaFenceSignaled, tl, ctx, 1);
                ExpectFence(rule, NextLine, first, Severity.Error);
                FenceLine(t, cpu, FenceLocked, DmaEventKind.DmaFenceSignaled, tl, ctx, 1);
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceDestroy, tl, ctx, 1);
                return true;
            }
            case Rules.FenceSeqnoRegression:
            {
                if (!HasRoom(8)) return false;
                uint ctx = _nextFenceContext++;
                WholeFence(t, cpu, tl, ctx, 2);
                ExpectFence(rule, NextLine, null, Severity.Error);
                WholeFence(t, cpu, tl, ctx, 1); // seqno 1 after 2 on the same context
                return true;
            }
            case Rules.FenceNeverSignaled:
            {
                bool waited = _neverSignaledFaults++ % 2 == 1;
                if (!HasRoom(waited ? 5 : 2)) return false;
                uint ctx = _nextFenceContext++;
                ExpectFence(rule, NextLine, null, waited ? Severity.Error : Severity.Warning);
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceInit, tl, ctx, 1);
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceEmit, tl, ctx, 1);
                if (waited)
                {
                    // dma_fence_wait_timeout that times out: signaling enabled, the wait ends, no signal
                    FenceLine(t, cpu, FenceLocked, DmaEventKind.DmaFenceEnableSignal, tl, ctx, 1);
                    FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceWaitStart, tl, ctx, 1);
                    FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceWaitEnd, tl, ctx, 1);
                }
                return true;
            }
            case Rules.FenceDestroyUnsignaled:
            {
                if (!HasRoom(3)) return false;
                uint ctx = _nextFenceContext++;
                long init = NextLine;
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceInit, tl, ctx, 1);
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceEmit, tl, ctx, 1);
                ExpectFence(rule, NextLine, init, Severity.Error);
                ExpectFence(Rules.FenceNeverSignaled, init, null, Severity.Warning); // and so never signaled
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceDestroy, tl, ctx, 1);
                return true;
            }
            case Rules.FenceSignalBeforeEmit:
            {
                if (!HasRoom(7)) return false;
                uint ctx = _nextFenceContext++;
                WholeFence(t, cpu, tl, ctx, 1); // the context emits its fences
                long init = NextLine;
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceInit, tl, ctx, 2);
                ExpectFence(rule, NextLine, init, Severity.Error);
                FenceLine(t, cpu, FenceLocked, DmaEventKind.DmaFenceSignaled, tl, ctx, 2);
                FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceDestroy, tl, ctx, 2);
                return true;
            }
            default:
                throw new ArgumentException($"'{rule}' is not a fence rule", nameof(rule));
        }
    }

    /// <summary>A correct fence: init, emit, signaled, destroy.</summary>
    private void WholeFence(SynthTask t, int cpu, ReadOnlySpan<byte> timeline, uint ctx, uint seqno)
    {
        FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceInit, timeline, ctx, seqno);
        FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceEmit, timeline, ctx, seqno);
        FenceLine(t, cpu, FenceLocked, DmaEventKind.DmaFenceSignaled, timeline, ctx, seqno);
        FenceLine(t, cpu, Flags.Process, DmaEventKind.DmaFenceDestroy, timeline, ctx, seqno);
    }

    /// <summary>A fence finding: FenceChecker names "driver:timeline" as the device, the address 0.</summary>
    private void ExpectFence(string rule, long line, long? related, Severity severity) =>
        _expected.Add(new ExpectedFinding(rule, line, related, FenceDriver + ":" + FenceFaultTimeline, 0, true, severity));
}
