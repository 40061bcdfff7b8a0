using System.Text;
using DmaReplay.Engine.Checks;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// Misuse injection. At each new arrival, every requested fault kind fires with its rate; a fault
/// writes its few lines on pages of its own (never a live mapping of the correct traffic) and
/// records the findings `check` must report for it. A ledger of live mappings, kept only when a
/// manifest is wanted, gives the mappings still live at the end (leak-at-end).
/// </summary>
public sealed partial class TraceSynthesizer
{
    /// <summary>Leaked NVMe mappings from which leak-growth is expected (the rule needs a rise of 32 floors over 8 windows).</summary>
    public const int LeakGrowthExpectedFrom = 96;

    private static readonly string[] InjectableRules =
    [
        Rules.DoubleUnmap, Rules.UnmapNotMapped, Rules.UnmapWrongDevice, Rules.UnmapSizeMismatch, Rules.UnmapDirectionMismatch,
        Rules.UnmapTypeMismatch, Rules.FreeCpuAddressMismatch, Rules.SgNentsMismatch, Rules.SyncNotMapped, Rules.SyncOutOfBounds,
        Rules.SyncDirectionMismatch, Rules.CachelineOverlap, Rules.SgSegmentTooLong, Rules.SgSegmentCrossesBoundary,
        Rules.MapFailed, Rules.MapErrorHandleUsed, Rules.LeakGrowth,
        Rules.PoolDoubleFree, Rules.PoolDestroyBusy, Rules.PoolFreeForeign, Rules.LeakAtUnbind,
        Rules.FenceDoubleSignal, Rules.FenceSeqnoRegression, Rules.FenceNeverSignaled, Rules.FenceDestroyUnsignaled,
        Rules.FenceSignalBeforeEmit,
    ];

    /// <summary>Rules the generator can inject (leak-at-end needs no injection: the rx rings stay mapped).</summary>
    public static IReadOnlyList<string> Injectable => InjectableRules;

    /// <summary>Settings `check` needs to see the segment faults (the NVMe limits these faults break).</summary>
    public static readonly string[] SegmentLimitSettings =
        ["device.0000:00:02.0.max_segment_size=65536", "device.0000:00:02.0.segment_boundary=0xffffffff"];

    private readonly List<ExpectedFinding> _expected = [];
    private readonly Dictionary<string, long> _injected = new();
    private readonly Dictionary<(string Device, ulong Addr), long>? _ledger;
    private readonly Random _faultRng;
    private KeyValuePair<string, double>[] _injectionOrder = [];
    private readonly SynthTask _buggy = new("kworker/1:2", 77);
    private int _leaked;

    private long NextLine => _w.Lines + 1;

    /// <summary>The manifest of what was written (only when <see cref="SynthOptions.Manifest"/> asked for one).</summary>
    private SynthManifest BuildManifest()
    {
        var expected = new List<ExpectedFinding>(_expected);
        if (_leaked >= LeakGrowthExpectedFrom && _o.Injections.ContainsKey(Rules.LeakGrowth))
            expected.Add(new ExpectedFinding(Rules.LeakGrowth, 0, null, "0000:00:02.0", 0, true));
        foreach (var ((dev, addr), line) in _ledger!)
            expected.Add(new ExpectedFinding(Rules.LeakAtEnd, line, null, dev, addr, false));
        expected.Sort((a, b) => a.Line != b.Line ? a.Line.CompareTo(b.Line) : string.CompareOrdinal(a.Rule, b.Rule));
        bool segments = _o.Injections.ContainsKey(Rules.SgSegmentTooLong) || _o.Injections.ContainsKey(Rules.SgSegmentCrossesBoundary);
        return new SynthManifest(_o.Seed, _o.Events, Workload(SynthWorkloads.AtomicPressure) ? SevGuest.Name : "x86-64-default", segments ? SegmentLimitSettings : [],
            _injected.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList(), expected);
    }

    // --- the ledger follows every map and release line the synthesizer writes --------------------

    private void LedgerMap(ReadOnlySpan<byte> dev, ulong addr)
    {
        if (_ledger is not null) _ledger[(Encoding.ASCII.GetString(dev), addr)] = _w.Lines;
    }

    private void LedgerRelease(ReadOnlySpan<byte> dev, ulong addr) => _ledger?.Remove((Encoding.ASCII.GetString(dev), addr));

    // --- injection -----------------------------------------------------------------------------

    /// <summary>Called at each arrival: injects the faults whose rate fires; true when one was written.</summary>
    private bool MaybeInjectFault()
    {
        foreach (var (rule, rate) in _injectionOrder)
        {
            if (rule == Rules.LeakGrowth || _faultRng.NextDouble() >= rate) continue;
            if (InjectFault(rule))
            {
                _injected[rule] = _injected.GetValueOrDefault(rule) + 1;
                return true;
            }
        }
        return false;
    }

    /// <summary>leak-growth: an NVMe completion that never unmaps.</summary>
    private bool LeakThisCompletion()
    {
        if (!_o.Injections.TryGetValue(Rules.LeakGrowth, out double rate) || _faultRng.NextDouble() >= rate) return false;
        _leaked++;
        _injected[Rules.LeakGrowth] = _leaked;
        return true;
    }

    private void Expect(string rule, long line, long? related, ReadOnlySpan<byte> dev, ulong addr) =>
        _expected.Add(new ExpectedFinding(rule, line, related, Encoding.ASCII.GetString(dev), addr, true));

    private bool InjectFault(string rule)
    {
        var t = _buggy;
        int cpu = Cpu();
        var f = Flags.Process;
        var dev = Nvme;
        switch (rule)
        {
            case Rules.DoubleUnmap:
            {
                if (!HasRoom(3)) return false;
                ulong a = _low.Alloc(1);
                MapPage(t, cpu, f, dev, DmaDirection.ToDevice, a, 4096, a);
                long first = NextLine;
                UnmapPage(t, cpu, f, dev, DmaDirection.ToDevice, a, 4096);
                Expect(rule, NextLine, first, dev, a);
                UnmapPage(t, cpu, f, dev, DmaDirection.ToDevice, a, 4096);
                _low.Free(a, 1);
                return true;
            }
            case Rules.UnmapNotMapped:
            {
                if (!HasRoom(1)) return false;
                ulong a = _low.Alloc(1);
                Expect(rule, NextLine, null, dev, a);
                UnmapPage(t, cpu, f, dev, DmaDirection.FromDevice, a, 4096);
                _low.Free(a, 1);
                return true;
            }
            case Rules.UnmapWrongDevice:
            {
                if (!HasRoom(3)) return false;
                ulong a = _low.Alloc(1);
                long map = NextLine;
                MapPage(t, cpu, f, E1000e, DmaDirection.FromDevice, a, 2048, a);
                Expect(rule, NextLine, map, dev, a);
                UnmapPage(t, cpu, f, dev, DmaDirection.FromDevice, a, 2048);
                UnmapPage(t, cpu, f, E1000e, DmaDirection.FromDevice, a, 2048);
                _low.Free(a, 1);
                return true;
            }
            case Rules.UnmapSizeMismatch:
            case Rules.UnmapDirectionMismatch:
            {
                if (!HasRoom(2)) return false;
                ulong a = _low.Alloc(1);
                long map = NextLine;
                MapPage(t, cpu, f, dev, DmaDirection.ToDevice, a, 4096, a);
                Expect(rule, NextLine, map, dev, a);
                if (rule == Rules.UnmapSizeMismatch) UnmapPage(t, cpu, f, dev, DmaDirection.ToDevice, a, 2048);
                else UnmapPage(t, cpu, f, dev, DmaDirection.FromDevice, a, 4096);
                _low.Free(a, 1);
                return true;
            }
            case Rules.UnmapTypeMismatch:
            {
                if (!HasRoom(2)) return false;
                int sg = _sg.Rent();
                ulong a = _low.Alloc(1);
                _sg.Add(sg, a, 4096);
                long map = NextLine;
                MapSg(t, cpu, f, dev, DmaDirection.ToDevice, sg);
                Expect(rule, NextLine, map, dev, a);
                UnmapPage(t, cpu, f, dev, DmaDirection.ToDevice, a, 4096); // dma_unmap_page of a dma_map_sg mapping
                FreeSg(sg);
                return true;
            }
            case Rules.FreeCpuAddressMismatch:
            {
                if (!HasRoom(2)) return false;
                ulong a = _low.Alloc(1);
                long alloc = NextLine;
                Alloc(t, cpu, E1000e, a, 4096, HashedPointer());
                Expect(rule, NextLine, alloc, E1000e, a);
                Free(t, cpu, E1000e, a, 4096, HashedPointer());
                _low.Free(a, 1);
                return true;
            }
            case Rules.SgNentsMismatch:
            {
                if (!HasRoom(2)) return false;
                int sg = _sg.Rent();
                ulong a = _low.Alloc(1), b = _low.Alloc(1), c = _low.Alloc(1);
                _sg.Add(sg, a, 4096);
                _sg.Add(sg, b, 4096);
                long map = NextLine;
                MapSg(t, cpu, f, dev, DmaDirection.FromDevice, sg);
                _sg.Add(sg, c, 4096); // the unmap passes one entry more than the map did
                Expect(rule, NextLine, map, dev, a);
                Expect(rule, NextLine, map, dev, b);
                UnmapSg(t, cpu, f, dev, DmaDirection.FromDevice, sg);
                FreeSg(sg);
                return true;
            }
            case Rules.SyncNotMapped:
            {
                if (!HasRoom(1)) return false;
                ulong a = _low.Alloc(1);
                Expect(rule, NextLine, null, dev, a);
                SyncSingle(t, cpu, f, dev, DmaDirection.FromDevice, a, 512, forCpu: true);
                _low.Free(a, 1);
                return true;
            }
            case Rules.SyncOutOfBounds:
            case Rules.SyncDirectionMismatch:
            {
                if (!HasRoom(3)) return false;
                ulong a = _low.Alloc(2, 2);
                var mapDir = rule == Rules.SyncOutOfBounds ? DmaDirection.Bidirectional : DmaDirection.ToDevice;
                long map = NextLine;
                MapPage(t, cpu, f, dev, mapDir, a, 4096, a);
                Expect(rule, NextLine, map, dev, a + 2048);
                if (rule == Rules.SyncOutOfBounds)
                {
                    SyncSingle(t, cpu, f, dev, mapDir, a + 2048, 4096, forCpu: true);
                }
                else
                {
                    Expect(rule, NextLine, map, dev, a + 2048); // "different direction" and "read-only for cpu"
                    SyncSingle(t, cpu, f, dev, DmaDirection.FromDevice, a + 2048, 1024, forCpu: true);
                }
                UnmapPage(t, cpu, f, dev, mapDir, a, 4096);
                _low.Free(a, 2);
                return true;
            }
            case Rules.CachelineOverlap:
            {
                // More than ActiveCachelines.MaxOverlap live FROM_DEVICE mappings of one cache line: reported on every platform.
                int n = ActiveCachelines.MaxOverlap + 2;
                if (!HasRoom(2 * n)) return false;
                ulong a = _low.Alloc(1);
                long first = NextLine;
                for (int i = 0; i < n; i++)
                {
                    if (i == n - 1) Expect(rule, NextLine, first, dev, a + (ulong)i * 4);
                    MapPage(t, cpu, f, dev, DmaDirection.FromDevice, a + (ulong)i * 4, 4, a + (ulong)i * 4);
                }
                for (int i = 0; i < n; i++) UnmapPage(t, cpu, f, dev, DmaDirection.FromDevice, a + (ulong)i * 4, 4);
                _low.Free(a, 1);
                return true;
            }
            case Rules.SgSegmentTooLong:
            case Rules.SgSegmentCrossesBoundary:
            {
                if (!HasRoom(2)) return false;
                int sg = _sg.Rent();
                bool tooLong = rule == Rules.SgSegmentTooLong;
                int pages = tooLong ? 32 : 2;
                ulong a = tooLong ? _low.Alloc(pages, pages) : BoundaryStraddlingPages;
                if (a == 0) { _sg.Return(sg); return false; }
                _sg.Add(sg, a, (ulong)pages << PhysPageAllocator.PageShift);
                Expect(rule, NextLine, null, dev, a);
                MapSg(t, cpu, f, dev, DmaDirection.ToDevice, sg);
                UnmapSg(t, cpu, f, dev, DmaDirection.ToDevice, sg);
                FreeSg(sg);
                return true;
            }
            case Rules.MapFailed:
            case Rules.MapErrorHandleUsed:
            {
                if (!HasRoom(2)) return false;
                ulong a = _high.Alloc(64, 64);
                long failed = NextLine;
                Expect(Rules.MapFailed, failed, null, dev, DmaAddress.MappingError);
                MapPage(t, cpu, f, dev, DmaDirection.FromDevice, DmaAddress.MappingError, 258048, a);
                if (rule == Rules.MapErrorHandleUsed)
                {
                    Expect(rule, NextLine, failed, dev, DmaAddress.MappingError);
                    UnmapPage(t, cpu, f, dev, DmaDirection.FromDevice, DmaAddress.MappingError, 258048);
                }
                _high.Free(a, 64);
                return true;
            }
            case Rules.PoolDoubleFree or Rules.PoolDestroyBusy or Rules.PoolFreeForeign or Rules.LeakAtUnbind:
                return InjectPoolFault(rule);
            case var _ when IsFenceRule(rule):
                return InjectFenceFault(rule);
            default:
                throw new ArgumentException($"rule '{rule}' cannot be injected", nameof(rule));
        }
    }

    /// <summary>Two pages straddling the 8 GiB line inside high RAM (0x1_ffff_f000–0x2_0000_0fff), or 0 while they are in use.</summary>
    private ulong BoundaryStraddlingPages
    {
        get
        {
            ulong a = 2 * HighRamStart - PhysPageAllocator.PageSize;
            return _high.TryAllocAt(a, 2) ? a : 0;
        }
    }

    // "%s dir=%s dma_addr=%llx size=%zu"
    private bool SyncSingle(SynthTask task, int cpu, ReadOnlySpan<byte> flags, ReadOnlySpan<byte> dev, DmaDirection dir, ulong dma, ulong size, bool forCpu)
    {
        if (!Begin(task, cpu, flags, forCpu ? DmaEventKind.DmaSyncSingleForCpu : DmaEventKind.DmaSyncSingleForDevice, dev)) return false;
        Dir(dir);
        DmaAddrSize(dma, size);
        _w.End();
        return true;
    }
}
