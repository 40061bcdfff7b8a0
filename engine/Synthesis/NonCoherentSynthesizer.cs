using System.Globalization;
using System.Text;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Direct;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Swiotlb;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// The non-coherent workload of <c>dmareplay synth --workloads noncoherent</c>: a Linux 6.12 trace
/// as the <c>arm64-noncoherent-soc</c> preset would record it. An Ethernet MAC
/// (<c>fe300000.ethernet</c>) maps 1536-byte receive buffers two to a page, syncs them for the CPU
/// and unmaps them, and maps transmit frames of any length at any offset; an SD/MMC host
/// (<c>fe320000.mmc</c>) reads 512-byte blocks with dma_map_sg and small response buffers of 8 to
/// 24 bytes, which dma_kmalloc_needs_bounce sends through SWIOTLB — their slots taken by the
/// emulated pool exactly as the kernel would, after a <c>swiotlb_bounced</c> line. An injected
/// cacheline overlap is a 48-byte and a 40-byte buffer sharing their first line (kmalloc-64: not
/// bounced), both written by the device: dma-debug exempts it on this platform, DmaReplay reports it.
/// Every mapping is released before the end, so the manifest holds the injected overlaps only.
/// </summary>
internal sealed class NonCoherentSynthesizer
{
    public const string Ethernet = "fe300000.ethernet";
    public const string Mmc = "fe320000.mmc";
    private const string Preset = "arm64-noncoherent-soc";

    private readonly SynthOptions _o;
    private readonly Random _rng;
    private readonly PlatformModel _platform = PlatformPresets.Arm64NonCoherentSoc();
    private readonly SwiotlbMem _swiotlb;
    private readonly List<(string Text, DmaEventKind Kind)> _lines = [];
    private readonly List<ExpectedFinding> _expected = [];
    private readonly Queue<Action> _completions = new();
    private ulong _nextPage = 0x4100_0000;
    private long _us = 1_000_000;
    private long _overlaps;

    private NonCoherentSynthesizer(SynthOptions options)
    {
        _o = options;
        _rng = new Random(options.Seed);
        _swiotlb = new SwiotlbMem(_platform.Swiotlb, _platform.Kernel);
    }

    public static SynthReport Write(SynthOptions options, FtraceLineWriter w)
    {
        var s = new NonCoherentSynthesizer(options);
        s.Run();
        var report = new SynthReport();
        w.Header(s._lines.Count, options.Cpus);
        foreach (var (text, kind) in s._lines)
        {
            w.Raw(Encoding.ASCII.GetBytes(text));
            w.End();
            report.CountEvent(kind);
        }
        w.Flush();
        report.Lines = w.Lines;
        report.Bytes = w.Bytes;
        if (options.Manifest)
        {
            var injected = s._overlaps > 0 ? [KeyValuePair.Create(Rules.CachelineOverlap, s._overlaps)] : new List<KeyValuePair<string, long>>();
            report.Manifest = new SynthManifest(options.Seed, s._lines.Count, Preset, [], injected, s._expected);
        }
        return report;
    }

    private void Run()
    {
        double overlapRate = _o.Injections.GetValueOrDefault(Rules.CachelineOverlap);
        // Room for the completions still queued when the budget runs out (at most 4 lines each).
        while (_lines.Count + 4 * _completions.Count + 8 < _o.Events)
        {
            if (_completions.Count > 0 && _rng.NextDouble() < 0.45)
            {
                _completions.Dequeue()();
                continue;
            }
            double pick = _rng.NextDouble();
            if (overlapRate > 0 && _rng.NextDouble() < overlapRate) Overlap();
            else if (pick < 0.35) EthernetRx();
            else if (pick < 0.6) EthernetTx();
            else if (pick < 0.8) MmcResponse();
            else MmcRead();
        }
        while (_completions.Count > 0) _completions.Dequeue()();
    }

    private ulong Page() => (_nextPage += 0x1000) - 0x1000;

    private int Add(DmaEventKind kind, string device, string body, int cpu = 0)
    {
        _us += 3 + _rng.Next(20);
        string task = cpu == 0 ? "irq/45-eth0" : "kworker/1:1H";
        int pid = cpu == 0 ? 201 : 118;
        _lines.Add((string.Create(CultureInfo.InvariantCulture,
            $"{task,16}-{pid,-7} [{cpu:000}] ..... {_us / 1_000_000,5}.{_us % 1_000_000:000000}: {kind.Name()}: {(device.Length > 0 ? device + " " : "")}{body}"), kind));
        return _lines.Count + 12; // the header's 12 lines come first
    }

    private static string X(ulong v) => v.ToString("x", CultureInfo.InvariantCulture);

    private void EthernetRx()
    {
        ulong buf = Page() + (_rng.Next(2) == 0 ? 0UL : 0x800UL);
        Add(DmaEventKind.DmaMapPage, Ethernet, $"dir=FROM_DEVICE dma_addr={X(buf)} size=1536 phys_addr={X(buf)} attrs=");
        _completions.Enqueue(() =>
        {
            Add(DmaEventKind.DmaSyncSingleForCpu, Ethernet, $"dir=FROM_DEVICE dma_addr={X(buf)} size=1536");
            Add(DmaEventKind.DmaUnmapPage, Ethernet, $"dir=FROM_DEVICE dma_addr={X(buf)} size=1536 attrs=");
        });
    }

    private void EthernetTx()
    {
        ulong len = (ulong)_rng.Next(60, 1515);
        ulong buf = Page() + (ulong)_rng.Next(0, 4096 - 1514);
        Add(DmaEventKind.DmaMapPage, Ethernet, $"dir=TO_DEVICE dma_addr={X(buf)} size={len} phys_addr={X(buf)} attrs=");
        _completions.Enqueue(() => Add(DmaEventKind.DmaUnmapPage, Ethernet, $"dir=TO_DEVICE dma_addr={X(buf)} size={len} attrs="));
    }

    /// <summary>A small response buffer the host writes: kmalloc-8/16/32 is not cache-line aligned, so it bounces.</summary>
    private void MmcResponse()
    {
        ulong len = (ulong)(8 * _rng.Next(1, 4));
        ulong buf = Page() + (ulong)(64 * _rng.Next(0, 60)) + (ulong)(8 * _rng.Next(0, 4));
        var dev = _platform.Device(Mmc);
        if (!DmaDirect.KmallocNeedsBounce(dev, _platform, len, DmaDirection.FromDevice)) throw new InvalidOperationException("expected a kmalloc bounce");
        Add(DmaEventKind.SwiotlbBounced, "", $"dev_name: {Mmc} dma_mask=ffffffffffffffff dev_addr={X(buf)} size={len} NORMAL", cpu: 1);
        var r = _swiotlb.Map(new BounceDevice(0, dev.SegmentBoundaryMask), buf, len, 0, 1, p => p);
        if (!r.Ok) throw new InvalidOperationException("the pool is far larger than this workload");
        Add(DmaEventKind.DmaMapPage, Mmc, $"dir=FROM_DEVICE dma_addr={X(r.TlbAddr)} size={len} phys_addr={X(buf)} attrs=", cpu: 1);
        _completions.Enqueue(() =>
        {
            Add(DmaEventKind.DmaUnmapPage, Mmc, $"dir=FROM_DEVICE dma_addr={X(r.TlbAddr)} size={len} attrs=", cpu: 1);
            _swiotlb.Unmap(new BounceDevice(0, dev.SegmentBoundaryMask), r.TlbAddr, len, DmaDirection.FromDevice, DmaAttrs.None);
        });
    }

    private void MmcRead()
    {
        int n = _rng.Next(1, 4);
        var phys = Enumerable.Range(0, n).Select(_ => Page() + (ulong)(512 * _rng.Next(0, 8))).ToArray();
        string list = "{" + string.Join(",", phys.Select(p => "0x" + X(p))) + "}";
        string sizes = "{" + string.Join(",", phys.Select(_ => "0x200")) + "}";
        Add(DmaEventKind.DmaMapSg, Mmc, $"dir=FROM_DEVICE nents={n}/{n} ents={n}/{n} dma_addrs={list} sizes={sizes} phys_addrs={list} attrs=", cpu: 1);
        _completions.Enqueue(() =>
        {
            Add(DmaEventKind.DmaSyncSgForCpu, Mmc, $"dir=FROM_DEVICE dma_addrs={list} sizes={sizes}", cpu: 1);
            Add(DmaEventKind.DmaUnmapSg, Mmc, $"dir=FROM_DEVICE phys_addrs={list} attrs=", cpu: 1);
        });
    }

    /// <summary>Two device-written buffers in one cache line, neither bounced: the injected cacheline overlap.</summary>
    private void Overlap()
    {
        ulong line = Page() + (ulong)(64 * _rng.Next(0, 60));
        int first = Add(DmaEventKind.DmaMapPage, Ethernet, $"dir=FROM_DEVICE dma_addr={X(line)} size=48 phys_addr={X(line)} attrs=");
        int second = Add(DmaEventKind.DmaMapPage, Ethernet, $"dir=FROM_DEVICE dma_addr={X(line + 48)} size=40 phys_addr={X(line + 48)} attrs=");
        _overlaps++;
        _expected.Add(new ExpectedFinding(Rules.CachelineOverlap, second, first, Ethernet, line + 48, Injected: true));
        _completions.Enqueue(() =>
        {
            Add(DmaEventKind.DmaUnmapPage, Ethernet, $"dir=FROM_DEVICE dma_addr={X(line + 48)} size=40 attrs=");
            Add(DmaEventKind.DmaUnmapPage, Ethernet, $"dir=FROM_DEVICE dma_addr={X(line)} size=48 attrs=");
        });
    }
}
