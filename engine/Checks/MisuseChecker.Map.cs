using System.Runtime.CompilerServices;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

public sealed partial class MisuseChecker
{
    // debug_dma_map_phys / debug_dma_map_page / map_resource: no entry when the map failed.
    private void MapSingle(DmaEvent e)
    {
        if (e.IsMappingError)
        {
            MapFailed(e);
            return;
        }
        int entry = NewEntry(e, EventOrigin.Of(e), DebugEntryTypes.Of(e.Kind), e.DmaAddr, e.Size, e.Direction, 0, 0, e.PhysAddr, ++_mapCalls, 0);
        AddEntry(entry, e, trackCacheline: true);
    }

    // debug_dma_map_sg: one entry per mapped segment, physical start taken from input entry i.
    private void MapSg(DmaEvent e)
    {
        if (e.Ents == 0)
        {
            MapFailed(e);
            return;
        }
        long call = ++_mapCalls;
        var dma = e.DmaAddrs;
        var len = e.Lengths;
        var phys = e.PhysAddrs;
        var list = _sgLists.Add(e, call);
        int mapped = Math.Min(e.Ents, dma.Length); // beyond 128 the trace has no addresses
        int listId = list?.Id ?? ScatterGatherLists.NoList;
        var origin = EventOrigin.Of(e);
        var limits = SegmentLimitsOf(e.Device);
        for (int i = 0; i < mapped; i++)
        {
            int entry = NewEntry(e, origin, DebugEntryType.Sg, dma[i], len[i], e.Direction, e.Nents, e.Ents, i < phys.Length ? phys[i] : 0, call, i);
            _hash[entry].SgList = listId;
            CheckSegment(e, limits, dma[i], len[i]);
            AddEntry(entry, e, trackCacheline: i < phys.Length);
        }
    }

    // debug_dma_alloc_coherent / debug_dma_alloc_pages. The trace's virt_addr (a %p hash, stable
    // per pointer) stands in for the CPU address; it is no physical address, so no cache line.
    private void Alloc(DmaEvent e)
    {
        if (e.DmaAddr == 0 && e.VirtAddr == 0)
        {
            MapFailed(e);
            return;
        }
        var type = DebugEntryTypes.Of(e.Kind);
        var dir = type == DebugEntryType.Coherent ? DmaDirection.Bidirectional : e.Direction; // 6.12 prints a stale dir
        AddEntry(NewEntry(e, EventOrigin.Of(e), type, e.DmaAddr, e.Size, dir, 0, 0, e.VirtAddr, ++_mapCalls, 0), e, trackCacheline: false);
    }

    // dma_alloc_noncontiguous → debug_dma_map_sg(dev, sgl, orig_nents, 1, dir, attrs).
    private void AllocSgt(DmaEvent e)
    {
        if (e.DmaAddr == 0)
        {
            MapFailed(e);
            return;
        }
        var phys = e.PhysAddrs;
        int entry = NewEntry(e, EventOrigin.Of(e), DebugEntryType.Sg, e.DmaAddr, e.Size, e.Direction, phys.Length, 1, phys.IsEmpty ? 0 : phys[0], ++_mapCalls, 0);
        AddEntry(entry, e, trackCacheline: !phys.IsEmpty);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void MapFailed(DmaEvent e)
    {
        _lastFailedMap[e.Device] = EventOrigin.Of(e);
        string what = e.Kind switch
        {
            DmaEventKind.DmaMapSgErr => $"dma_map_sg failed with error {e.Error} [nents={e.Nents}]",
            DmaEventKind.DmaMapSg => $"dma_map_sg mapped no segment [nents={e.Nents}]",
            DmaEventKind.DmaAlloc or DmaEventKind.DmaAllocPages or DmaEventKind.DmaAllocSgt or DmaEventKind.DmaAllocSgtErr =>
                $"{e.Kind.Name()} failed [size={e.Size} bytes] [flags={_strings.TextOf(e.GfpText)}]",
            _ => $"{e.Kind.Name()} returned DMA_MAPPING_ERROR [phys address={Hex16(e.PhysAddr)}] [size={e.Size} bytes]",
        };
        Report(Rules.MapFailed, what, e, e.DmaAddr, e.Size, e.Direction, null);
    }

    /// <summary>A new entry, filled but not yet hashed; returns its index in <see cref="_hash"/>.</summary>
    private int NewEntry(DmaEvent e, in EventOrigin origin, DebugEntryType type, ulong devAddr, ulong size, DmaDirection dir,
        int sgCall, int sgMapped, ulong phys, long call, int segment)
    {
        int id = _hash.Allocate();
        ref var entry = ref _hash[id];
        entry.Device = e.Device;
        entry.DevAddr = devAddr;
        entry.Size = size;
        entry.Type = type;
        entry.Direction = dir;
        entry.SgCallEnts = sgCall;
        entry.SgMappedEnts = sgMapped;
        entry.PhysAddr = phys;
        entry.Attrs = e.Attrs;
        entry.Origin = origin;
        entry.MapCall = call;
        entry.Segment = segment;
        entry.TracksCacheline = false;
        entry.SgList = ScatterGatherLists.NoList;
        return id;
    }

    // add_dma_entry: hash it, then the active-cacheline insert and its EEXIST report.
    private void AddEntry(int id, DmaEvent e, bool trackCacheline)
    {
        _hash.Add(id);
        if (!trackCacheline) return;
        ref var entry = ref _hash[id];
        entry.TracksCacheline = true;
        if (_cachelines.Insert(entry, out bool overflowed, out var owner)) CachelineExists(entry, e, overflowed, owner);
    }

    /// <summary>active_cacheline_insert said -EEXIST: add_dma_entry's reports (a method of its own, off the hot path).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CachelineExists(in DebugEntry entry, DmaEvent e, bool overflowed, EventOrigin owner)
    {
        ulong cln = _cachelines.CachelineOf(entry.PhysAddr);
        bool cacheClean = (e.Attrs & DmaAttrs.CachelinesOverlap) != 0;
        bool nonCoherent = !_options.Platform.IsCoherent(_strings.Device(entry.Device));
        if (overflowed && !cacheClean)
        {
            Report(Rules.CachelineOverlap, $"exceeded {ActiveCachelines.MaxOverlap} overlapping mappings of cacheline {Hex16(cln)}" + (nonCoherent ? NonCoherentOverlap : ""),
                e, entry.DevAddr, entry.Size, entry.Direction, owner);
        }
        if ((e.Attrs & DmaAttrs.SkipCpuSync) == 0 && !cacheClean && (_options.Platform.ReportsCachelineOverlap || nonCoherent && NotBouncedOnKmallocPlatform(e, entry.Segment)))
        {
            string why = !nonCoherent ? "" : _options.Platform.ReportsCachelineOverlap ? NonCoherentOverlap : NonCoherentUnbouncedOverlap;
            Report(Rules.CachelineOverlap,
                $"cacheline tracking EEXIST, overlapping mappings aren't supported [device address={Hex16(entry.DevAddr)}] [phys address={Hex16(entry.PhysAddr)}] [cacheline={Hex16(cln)}]" + why,
                e, entry.DevAddr, entry.Size, entry.Direction, owner);
        }
    }

    // check_sg_segment, with the segment's DMA length standing in for the CPU length the trace does not print.
    private void CheckSegment(DmaEvent e, SegmentLimits limits, ulong start, ulong length)
    {
        if (limits.MaxSegmentSize is { } max && length > max || limits.SegmentBoundaryMask is not null && length > 0)
            ReportSegment(e, start, length, limits);
    }

    /// <summary>No --set limits for the device: nothing to check.</summary>
    private static readonly SegmentLimits NoLimits = new(null, null);
    private SegmentLimits?[] _segmentLimits = new SegmentLimits?[16];

    /// <summary>The --set limits of a device, looked up by its name once, then by its interned id.</summary>
    private SegmentLimits SegmentLimitsOf(int device)
    {
        if (device < 0) return NoLimits;
        if (device >= _segmentLimits.Length) Array.Resize(ref _segmentLimits, Math.Max(device + 1, _segmentLimits.Length * 2));
        return _segmentLimits[device] ??= _options.Platform.SegmentLimits.GetValueOrDefault(_strings.Device(device)) ?? NoLimits;
    }

    /// <summary>check_sg_segment's reports, for a segment past one of the limits.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReportSegment(DmaEvent e, ulong start, ulong length, SegmentLimits limits)
    {
        if (limits.MaxSegmentSize is { } max && length > max)
            Report(Rules.SgSegmentTooLong, $"mapping sg segment longer than device claims to support [len={length}] [max={max}]",
                e, start, length, e.Direction, null);
        if (limits.SegmentBoundaryMask is { } boundary && length > 0)
        {
            ulong end = start + length - 1;
            if (((start ^ end) & ~boundary) != 0)
                Report(Rules.SgSegmentCrossesBoundary,
                    $"mapping sg segment across boundary [start={Hex16(start)}] [end={Hex16(end)}] [boundary={Hex16(boundary)}]",
                    e, start, length, e.Direction, null);
        }
    }
}
