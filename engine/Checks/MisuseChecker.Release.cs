using System.Runtime.CompilerServices;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

public sealed partial class MisuseChecker
{
    private readonly ReleasedMappings _releasedSg = new();

    /// <summary>check_unmap: exact best-fit lookup, then size, type, CPU address, sg count and direction, then release.</summary>
    private void CheckUnmap(in DebugRef r, DmaEvent e) => CheckUnmap(r, e, _hash.FindExact(r));

    /// <summary>check_unmap with the result of its bucket_find_exact already at hand (<paramref name="id"/>).</summary>
    private void CheckUnmap(in DebugRef r, DmaEvent e, int id)
    {
        if (id == DmaDebugHash.None)
        {
            UnmapOfNothing(r, e);
            return;
        }
        ref var entry = ref _hash[id];
        // The usual release agrees with its entry on everything check_unmap compares. The
        // reports live in a method of their own: their message formatting would otherwise give
        // this method a stack frame the runtime zeroes on every call.
        if (r.Size != entry.Size || r.Type != entry.Type || r.Direction != entry.Direction
            || (entry.Type is DebugEntryType.Coherent or DebugEntryType.Noncoherent && r.PhysAddr != entry.PhysAddr)
            || (r.SgCallEnts != 0 && r.Type == DebugEntryType.Sg && r.SgCallEnts != entry.SgCallEnts))
        {
            ReportUnmapMismatches(r, e, entry);
        }
        Release(id, e);
    }

    /// <summary>check_unmap's reports, in its order, for a release that disagrees with its entry.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReportUnmapMismatches(in DebugRef r, DmaEvent e, in DebugEntry entry)
    {
        if (r.Size != entry.Size)
        {
            Report(Rules.UnmapSizeMismatch,
                $"device driver frees DMA memory with different size [device address={Hex16(r.DevAddr)}] [map size={entry.Size} bytes] [unmap size={r.Size} bytes]",
                e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        }
        if (r.Type != entry.Type)
        {
            Report(Rules.UnmapTypeMismatch,
                $"device driver frees DMA memory with wrong function [device address={Hex16(r.DevAddr)}] [size={r.Size} bytes] [mapped as {entry.Type.Name()}] [unmapped as {r.Type.Name()}]",
                e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        }
        else if (entry.Type is DebugEntryType.Coherent or DebugEntryType.Noncoherent && r.PhysAddr != entry.PhysAddr)
        {
            Report(Rules.FreeCpuAddressMismatch,
                $"device driver frees DMA memory with different CPU address [device address={Hex16(r.DevAddr)}] [size={r.Size} bytes] [cpu alloc address={Hex16(entry.PhysAddr)}] [cpu free address={Hex16(r.PhysAddr)}]",
                e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        }
        if (r.SgCallEnts != 0 && r.Type == DebugEntryType.Sg && r.SgCallEnts != entry.SgCallEnts)
        {
            Report(Rules.SgNentsMismatch,
                $"device driver frees DMA sg list with different entry count [map count={entry.SgCallEnts}] [unmap count={r.SgCallEnts}]",
                e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        }
        if (r.Direction != entry.Direction)
        {
            Report(Rules.UnmapDirectionMismatch,
                $"device driver frees DMA memory with different direction [device address={Hex16(r.DevAddr)}] [size={r.Size} bytes] [mapped with {entry.Direction.KernelName()}] [unmapped with {r.Direction.KernelName()}]",
                e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        }
    }

    private void Release(int id, DmaEvent e)
    {
        ref var entry = ref _hash[id];
        if (entry.TracksCacheline) _cachelines.Remove(entry);
        // dma_unmap_sg keeps one record per list (_releasedSg); any other release keeps one per address.
        if (e.Kind != DmaEventKind.DmaUnmapSg)
        {
            if (entry.SgList != ScatterGatherLists.NoList) _sgLists.Retire(entry.SgList, entry.MapCall);
            _released.Add(entry.Device, entry.DevAddr, EventOrigin.Of(e), entry.Origin.Line);
        }
        _hash.Remove(id);
    }

    /// <summary>A dma_unmap_sg that pairs with no live list: unmapped before (double unmap), or never mapped.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void UnmapOfUnknownList(DmaEvent e)
    {
        var phys = e.PhysAddrs;
        ulong first = phys.IsEmpty ? 0 : phys[0];
        string what = $"device driver unmaps an sg list it has not mapped [first phys address={Hex16(first)}] [nents={phys.Length}]";
        if (_releasedSg.TryGet(e.Device, first, out var rel))
            Report(Rules.DoubleUnmap, $"{what}: already unmapped at line {rel.ReleasedLine} (mapped at line {rel.MappedLine})",
                e, first, 0, e.Direction, rel.ReleasedAt(e.Position.Input));
        else
            Report(Rules.UnmapNotMapped, what, e, first, 0, e.Direction, null);
    }

    /// <summary>
    /// No entry: dma-debug says "not allocated" (or "invalid" for the error handle). We say which:
    /// released before (double unmap), live on another device, or never mapped.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void UnmapOfNothing(in DebugRef r, DmaEvent e)
    {
        string tail = $"[device address={Hex16(r.DevAddr)}] [size={r.Size} bytes]";
        if (r.DevAddr == DmaAddress.MappingError)
        {
            Report(Rules.MapErrorHandleUsed,
                "device driver tries to free an invalid DMA memory address (DMA_MAPPING_ERROR: the map failed and its handle was released)",
                e, r.DevAddr, r.Size, r.Direction, _lastFailedMap.TryGetValue(r.Device, out var failed) ? failed : null);
            return;
        }
        int live = _hash.CountExact(r);
        var rel = default(ReleasedMappings.Release);
        bool releasedHere = live == 0 && _released.TryGet(r.Device, r.DevAddr, out rel);
        // Live on another device now outranks released here before: the handle the driver holds
        // belongs to someone else's mapping, which is what a fix must look at first.
        if (live == 0 && _hash.FindOnOtherDevice(r.DevAddr, r.Device) is var otherId and not DmaDebugHash.None)
        {
            ref var other = ref _hash[otherId];
            string before = releasedHere ? $"; this device released it at line {rel.ReleasedLine}" : "";
            Report(Rules.UnmapWrongDevice,
                $"device driver tries to free DMA memory it has not allocated {tail}: the address is mapped on {_strings.Device(other.Device)} (line {other.Origin.Line}){before}",
                e, r.DevAddr, r.Size, r.Direction, other.Origin);
            return;
        }
        if (releasedHere)
        {
            Report(Rules.DoubleUnmap,
                $"device driver tries to free DMA memory it has not allocated {tail}: already released at line {rel.ReleasedLine} (mapped at line {rel.MappedLine})",
                e, r.DevAddr, r.Size, r.Direction, rel.ReleasedAt(e.Position.Input));
            return;
        }
        string why = live > 1 ? $": {live} live mappings share this address and none fits exactly, so dma-debug's best fit finds none" : "";
        Report(Rules.UnmapNotMapped, $"device driver tries to free DMA memory it has not allocated {tail}{why}", e, r.DevAddr, r.Size, r.Direction, null);
    }

    /// <summary>
    /// debug_dma_unmap_sg over the nelems the unmap passed: entry 0 decides how many were mapped,
    /// and each entry goes through check_unmap with the DMA address its map stored.
    /// </summary>
    private void UnmapSg(DmaEvent e)
    {
        var phys = e.PhysAddrs;
        var list = _sgLists.Take(e);
        if (list is null)
        {
            UnmapOfUnknownList(e);
            return;
        }
        _releasedSg.Add(e.Device, phys[0], EventOrigin.Of(e), list.Origin.Line);
        int nelems = phys.Length;
        int mapped = 0;
        for (int i = 0; i < nelems; i++)
        {
            if (mapped != 0 && i >= mapped) break;
            var r = new DebugRef(e.Device, i < list.DmaCount ? list.Dma[i] : DmaAddress.MappingError,
                i < list.DmaCount ? list.Lengths[i] : 0, DebugEntryType.Sg, e.Direction, nelems, phys[i]);
            // get_nr_mapped_entries and check_unmap make the same bucket_find_exact: look once.
            int id = _hash.FindExact(r);
            if (i == 0) mapped = id == DmaDebugHash.None ? 0 : _hash[id].SgMappedEnts;
            CheckUnmap(r, e, id);
        }
        _sgLists.Recycle(list);
    }
}
