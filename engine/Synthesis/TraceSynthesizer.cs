using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// Writes a synthetic Linux 6.12.117 tracefs <c>trace</c> file of correct DMA API traffic: the
/// header, probe-time coherent allocations, NVMe block I/O, an e1000e and a virtio-net NIC with
/// receive rings kept mapped and short-lived transmit maps, SWIOTLB bounces and phase markers.
/// </summary>
/// <remarks>
/// <para>The machine is dma-direct (no IOMMU): a DMA address equals the physical address, except
/// for a bounced map, whose DMA address is its SWIOTLB slot. Every unmap names a live map of the
/// same device, address, size and direction; sg unmaps repeat the map's phys_addrs. Pages come
/// from <see cref="PhysPageAllocator"/>, so no two live mappings share a page.</para>
/// <para>Work is simulated in time order: new operations arrive at random intervals; each
/// completion (an unmap) is queued with its due time and written when the clock reaches it.
/// Timestamps grow by at least 1 µs per line. Exactly <see cref="SynthOptions.Events"/> event
/// lines are written, so the header is written first and the output is streamed.</para>
/// <para>Line formats are the TP_printk formats of include/trace/events/dma.h and swiotlb.h as
/// the Debian 6.12.117 kernel prints them (kernel-facts §9.1, §9.4; dma_map_sg with the
/// <c>nents=a/n ents=b/e</c> counts), checked against the real bundles.</para>
/// </remarks>
public sealed partial class TraceSynthesizer
{
    // Synthetic machine: 8 GiB (RAM below 3 GiB and from 4 GiB), default SWIOTLB pool of 64 MiB
    // right below the 32-bit PCI hole, as x86 sets it up when memory reaches above 4 GiB.
    private const ulong LowRamStart = 0x0100_0000;
    private const ulong SwiotlbStart = 0xbc00_0000;
    private const int SwiotlbSlots = 32768;
    private const ulong HighRamStart = 0x1_0000_0000;
    private const ulong HighRamEnd = 0x2_4000_0000;

    private const double MeanArrivalUs = 10;
    private const int RxRingSize = 256;

    private static ReadOnlySpan<byte> Nvme => "0000:00:02.0"u8;
    private static ReadOnlySpan<byte> E1000e => "0000:00:03.0"u8;
    private static ReadOnlySpan<byte> VirtioNet => "0000:00:04.0"u8;

    private readonly SynthOptions _o;
    private readonly FtraceLineWriter _w;
    private readonly Random _rng;
    private readonly SynthReport _report = new();
    private readonly PhysPageAllocator _low;
    private readonly PhysPageAllocator _high;
    private readonly SynthBouncePool _swiotlb = new(SwiotlbStart, SwiotlbSlots);
    private readonly PriorityQueue<Pending, long> _pending = new();
    private readonly SgTable _sg = new();
    private readonly Queue<ulong> _e1000eRx = new();
    private readonly Queue<ulong> _virtioRx = new();
    private readonly double[] _mix;
    private readonly Tasks _tasks;

    private long _remaining;
    private long _reserve;
    private long _nowUs;
    private long _lastUs;
    private long _phaseLines;
    private int _phase;

    private TraceSynthesizer(SynthOptions options, FtraceLineWriter writer)
    {
        _o = options;
        _w = writer;
        _rng = new Random(options.Seed);
        _low = new PhysPageAllocator(LowRamStart, SwiotlbStart, _rng);
        _high = new PhysPageAllocator(HighRamStart, HighRamEnd, _rng);
        double total = options.Devices.Nvme + options.Devices.Nic + options.Devices.VirtioNet;
        _mix = [options.Devices.Nvme / total, (options.Devices.Nvme + options.Devices.Nic) / total];
        _tasks = new Tasks(options.Cpus);
        _remaining = options.Events;
        _faultRng = new Random(unchecked(options.Seed * 7919 + 17));
        _workRng = new Random(unchecked(options.Seed * 104729 + 3));
        _fenceRng = new Random(unchecked(options.Seed * 130363 + 11));
        if (options.Manifest) _ledger = new Dictionary<(string, ulong), long>();
        _injectionOrder = options.Injections.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Writes the trace to <paramref name="output"/> (left open) and reports what was written.</summary>
    public static SynthReport Write(SynthOptions options, Stream output)
    {
        using var w = new FtraceLineWriter(output);
        return Write(options, w);
    }

    /// <inheritdoc cref="Write(SynthOptions, Stream)"/>
    public static SynthReport Write(SynthOptions options, TextWriter output)
    {
        using var w = new FtraceLineWriter(output);
        return Write(options, w);
    }

    private static SynthReport Write(SynthOptions options, FtraceLineWriter w)
    {
        var error = options.Validate();
        if (error is not null) throw new ArgumentException(error, nameof(options));
        if (options.NonCoherent) return NonCoherentSynthesizer.Write(options, w);
        var s = new TraceSynthesizer(options, w);
        s.Run();
        w.Flush();
        s._report.Lines = w.Lines;
        s._report.Bytes = w.Bytes;
        if (options.Manifest) s._report.Manifest = s.BuildManifest();
        return s._report;
    }

    private void Run()
    {
        _w.Header(_o.Events, _o.Cpus);
        _nowUs = _lastUs = 2_632_244 + _rng.Next(0, 500_000); // boot: tracing is on from the command line
        _reserve = 1; // the "workload end" marker
        Marker($"capture-phase: capture start synth seed={_o.Seed} events={_o.Events}");
        ProbeNvme();
        ProbeE1000e();
        ProbeVirtioNet();
        ProbeWorkloads();
        Marker("capture-phase: workload start");
        _phaseLines = 0;

        long nextArrival = _nowUs + Interval();
        while (_remaining > _reserve)
        {
            if (_phaseLines >= _o.PhaseEvents)
            {
                _phaseLines = 0;
                Marker($"capture-phase: synth phase {++_phase}");
                continue;
            }
            if (_pending.TryPeek(out var due, out long dueUs) && dueUs <= nextArrival)
            {
                _pending.Dequeue();
                _nowUs = Math.Max(_nowUs, dueUs);
                Complete(due);
                continue;
            }
            _nowUs = Math.Max(_nowUs, nextArrival);
            nextArrival = _nowUs + Interval();
            if (_o.Workloads != SynthWorkloads.None && MaybeWorkload()) continue;
            if (_o.Injections.Count > 0 && MaybeInjectFault()) continue;
            double pick = _rng.NextDouble();
            if (pick < _mix[0]) NvmeSubmit();
            else if (pick < _mix[1]) NicWork(e1000e: true);
            else NicWork(e1000e: false);
        }
        DrainFences(); // the lines the fences in flight still owe were reserved
        _reserve = 0;
        Marker("capture-phase: workload end");
    }

    /// <summary>Exponential inter-arrival time, at least 1 µs.</summary>
    private long Interval() => 1 + (long)(-Math.Log(1 - _rng.NextDouble()) * MeanArrivalUs);

    private void Complete(in Pending p)
    {
        switch (p.Kind)
        {
            case PendingKind.NvmePage:
            case PendingKind.NvmeSg:
                NvmeComplete(p);
                break;
            default:
                TxComplete(p);
                break;
        }
    }

    private int Cpu() => _rng.Next(0, _o.Cpus);

    private T Pick<T>(T[] choices) => choices[_rng.Next(0, choices.Length)];

    /// <summary>A %p hash as tracefs prints it on x86-64: 16 hex digits, the upper half zero (as in the real bundles).</summary>
    private ulong HashedPointer() => (ulong)_rng.NextInt64(1, 1L << 32);

    /// <summary>The page allocator of a physical address.</summary>
    private PhysPageAllocator RegionOf(ulong phys) => phys >= HighRamStart ? _high : _low;

    private static int PagesOf(ulong offsetInPage, ulong size) =>
        (int)((offsetInPage + size + PhysPageAllocator.PageSize - 1) >> PhysPageAllocator.PageShift);

    private enum PendingKind : byte { NvmePage, NvmeSg, E1000eTx, VirtioTx }

    /// <summary>A mapping waiting for its unmap.</summary>
    private readonly record struct Pending(
        PendingKind Kind, DmaDirection Dir, ulong DmaAddr, ulong PhysAddr, ulong Size, int Sg, int BounceSlots, SynthTask Submitter);

    /// <summary>Phys addresses and lengths of live sg lists, in reusable arrays.</summary>
    private sealed class SgTable
    {
        public const int MaxEntries = 32;
        private readonly List<ulong[]> _phys = [];
        private readonly List<ulong[]> _lengths = [];
        private readonly List<int> _counts = [];
        private readonly Stack<int> _free = new();

        public int Rent()
        {
            if (_free.TryPop(out int h))
            {
                _counts[h] = 0;
                return h;
            }
            _phys.Add(new ulong[MaxEntries]);
            _lengths.Add(new ulong[MaxEntries]);
            _counts.Add(0);
            return _counts.Count - 1;
        }

        public void Add(int h, ulong phys, ulong length)
        {
            int n = _counts[h];
            _phys[h][n] = phys;
            _lengths[h][n] = length;
            _counts[h] = n + 1;
        }

        public ReadOnlySpan<ulong> Phys(int h) => _phys[h].AsSpan(0, _counts[h]);
        public ReadOnlySpan<ulong> Lengths(int h) => _lengths[h].AsSpan(0, _counts[h]);
        public void Return(int h) => _free.Push(h);
    }
}
