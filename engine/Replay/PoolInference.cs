using DmaReplay.Engine.Platform;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// The SWIOTLB pool's start when the capture did not record it (the kernel prints it only
/// sometimes, and a record script cannot read it). The first bounce of an area lands near the
/// area's first slot (its cursor starts at 0 at boot), and every bounce lies inside the pool:
/// those rules leave a few page-aligned candidates, and a replay of the trace on each picks the
/// one that reproduces the most recorded bounce addresses.
/// </summary>
public static class PoolInference
{
    /// <summary>Bounced maps replayed per candidate (enough to separate them; bounds the cost on long traces).</summary>
    public const int SampleEvents = 200_000;

    public static PlatformModel Infer(string tracePath, PlatformModel platform)
    {
        var bounces = RecordedBounces(tracePath, platform);
        var cfg = platform.Swiotlb;
        var k = platform.Kernel;
        ulong size = cfg.SizeBytes(k);
        ulong areaBytes = (ulong)cfg.AreaNslabs << k.IoTlbShift;
        var candidates = new SortedSet<ulong>();
        if (bounces.Count > 0)
        {
            ulong lo = bounces.Min(b => b.Addr), hi = bounces.Max(b => b.Addr + Math.Max(b.Size, 1) - 1);
            // Near each area's first slot, from the first bounce, for every area it might be in.
            ulong first = bounces[0].Addr & ~(k.PageSize - 1);
            for (int area = 0; area < cfg.Nareas; area++)
            {
                for (ulong back = 0; back < 4 * k.PageSize; back += k.PageSize)
                {
                    ulong c = first - back - (ulong)area * areaBytes;
                    if (c <= lo && c + size > hi) candidates.Add(c);
                }
            }
            // Every page-aligned start that holds all bounces, when there are few.
            ulong from = hi + 1 >= size ? (hi + 1 - size + k.PageSize - 1) & ~(k.PageSize - 1) : 0;
            ulong to = lo & ~(k.PageSize - 1);
            if (to >= from && (to - from) / k.PageSize <= 64)
            {
                for (ulong c = from; c <= to; c += k.PageSize) candidates.Add(c);
            }
        }
        if (candidates.Count == 0)
        {
            // Nothing bounced: no address in the trace depends on the start. Any start below 4 GiB will do.
            ulong guess = 0x1_0000_0000UL - size;
            return platform with
            {
                Swiotlb = cfg with { Start = guess },
                Provenance = [.. platform.Provenance, $"swiotlb.start=0x{guess:x} assumed: the trace has no bounce to infer it from"],
            };
        }

        ulong best = candidates.Min;
        long bestExact = -1, bestCompared = 0;
        foreach (var c in candidates)
        {
            var trial = platform with { Swiotlb = cfg with { Start = c } };
            var (compared, exact) = Score(tracePath, trial);
            if (exact > bestExact)
            {
                (best, bestExact, bestCompared) = (c, exact, compared);
            }
        }
        string how = $"swiotlb.start=0x{best:x} inferred from the trace: {candidates.Count} page-aligned candidates holding every bounce " +
                     $"(0x{bounces.Min(b => b.Addr):x}–0x{bounces.Max(b => b.Addr + b.Size - 1):x}) near each area's first slot; " +
                     $"replaying the trace on this one reproduces {bestExact} of {bestCompared} recorded bounce addresses";
        return platform with { Swiotlb = cfg with { Start = best }, Provenance = [.. platform.Provenance, how] };
    }

    private readonly record struct Bounce(ulong Addr, ulong Size);

    /// <summary>Recorded bounce addresses: maps whose DMA address is not the physical address, in trace order.</summary>
    private static List<Bounce> RecordedBounces(string tracePath, PlatformModel platform)
    {
        var collector = new BounceCollector();
        TraceFiles.Read(tracePath, tracePath, 0, new TraceStrings(), collector);
        return collector.Bounces;
    }

    private sealed class BounceCollector : ITraceEventHandler
    {
        public readonly List<Bounce> Bounces = [];

        public void OnEvent(DmaEvent e)
        {
            if (e.Kind is DmaEventKind.DmaMapPage or DmaEventKind.DmaMapPhys && !e.IsMappingError && e.DmaAddr != e.PhysAddr)
                Bounces.Add(new Bounce(e.DmaAddr, e.Size));
            else if (e.Kind == DmaEventKind.DmaMapSg)
            {
                var dma = e.DmaAddrs;
                var phys = e.PhysAddrs;
                var len = e.Lengths;
                for (int i = 0; i < dma.Length && i < phys.Length; i++)
                {
                    if (dma[i] != phys[i]) Bounces.Add(new Bounce(dma[i], len[i]));
                }
            }
        }
    }

    private static (long Compared, long Exact) Score(string tracePath, PlatformModel trial)
    {
        var strings = new TraceStrings();
        var engine = new ReplayEngine(trial, null, true, strings, tracePath, new StopAfter(SampleEvents));
        try
        {
            TraceFiles.Read(tracePath, tracePath, 0, strings, engine);
        }
        catch (StopAfter.Enough)
        {
            // sampled enough of the trace
        }
        var a = engine.Finish().Agreement;
        return (a.Swiotlb.Compared, a.Swiotlb.Exact);
    }

    /// <summary>Ends a trial replay after a number of events.</summary>
    private sealed class StopAfter(long limit) : ITraceEventHandler
    {
        private long _seen;

        public sealed class Enough : Exception;

        public void OnEvent(DmaEvent e)
        {
            if (++_seen >= limit) throw new Enough();
        }
    }
}
