using System.Runtime.CompilerServices;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

public sealed partial class MisuseChecker
{
    /// <summary>check_sync: containing lookup, then size and the direction rules; sync never changes state.</summary>
    private void CheckSync(in DebugRef r, DmaEvent e, bool toCpu)
    {
        int id = _hash.FindContaining(r);
        if (id == DmaDebugHash.None)
        {
            SyncOfNothing(r, e);
            return;
        }
        ref var entry = ref _hash[id];
        // The usual sync is within its mapping and agrees with it. As in check_unmap, the reports
        // live in a method of their own: their formatting would otherwise give this method a
        // stack frame the runtime zeroes on every call.
        bool directionProblem = entry.Direction != DmaDirection.Bidirectional
            && (r.Direction != entry.Direction
                || (toCpu ? entry.Direction != DmaDirection.FromDevice && r.Direction != DmaDirection.ToDevice
                          : entry.Direction != DmaDirection.ToDevice && r.Direction != DmaDirection.FromDevice)
                || (r.SgCallEnts != 0 && r.Type == DebugEntryType.Sg && r.SgCallEnts != entry.SgCallEnts));
        if (r.Size > entry.Size || directionProblem) ReportSyncMismatches(r, e, toCpu, entry);
    }

    /// <summary>check_sync's reports, in its order, for a sync the entry does not agree with.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ReportSyncMismatches(in DebugRef r, DmaEvent e, bool toCpu, in DebugEntry entry)
    {
        if (r.Size > entry.Size)
        {
            Report(Rules.SyncOutOfBounds,
                $"device driver syncs DMA memory outside allocated range [device address={Hex16(entry.DevAddr)}] [allocation size={entry.Size} bytes] [sync offset+size={r.Size}]",
                e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        }
        if (entry.Direction == DmaDirection.Bidirectional) return;
        if (r.Direction != entry.Direction)
            Report(Rules.SyncDirectionMismatch, $"device driver syncs DMA memory with different direction {Dirs(r, entry)}", e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        if (toCpu && entry.Direction != DmaDirection.FromDevice && r.Direction != DmaDirection.ToDevice)
            Report(Rules.SyncDirectionMismatch, $"device driver syncs device read-only DMA memory for cpu {Dirs(r, entry)}", e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        if (!toCpu && entry.Direction != DmaDirection.ToDevice && r.Direction != DmaDirection.FromDevice)
            Report(Rules.SyncDirectionMismatch, $"device driver syncs device write-only DMA memory to device {Dirs(r, entry)}", e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        if (r.SgCallEnts != 0 && r.Type == DebugEntryType.Sg && r.SgCallEnts != entry.SgCallEnts)
        {
            Report(Rules.SgNentsMismatch,
                $"device driver syncs DMA sg list with different entry count [map count={entry.SgCallEnts}] [sync count={r.SgCallEnts}]",
                e, r.DevAddr, r.Size, r.Direction, entry.Origin);
        }
    }

    private static string Dirs(in DebugRef r, in DebugEntry entry) =>
        $"[device address={Hex16(r.DevAddr)}] [size={entry.Size} bytes] [mapped with {entry.Direction.KernelName()}] [synced with {r.Direction.KernelName()}]";

    /// <summary>
    /// The kernel says "not allocated" for every failed containing lookup, overruns included. We
    /// tell an overrun of a live mapping (sync-out-of-bounds) from memory not mapped at all.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SyncOfNothing(in DebugRef r, DmaEvent e)
    {
        string tail = $"[device address={Hex16(r.DevAddr)}] [size={r.Size} bytes]";
        if (r.DevAddr == DmaAddress.MappingError)
        {
            Report(Rules.MapErrorHandleUsed, $"device driver syncs an invalid DMA memory address (DMA_MAPPING_ERROR) {tail}",
                e, r.DevAddr, r.Size, r.Direction, _lastFailedMap.TryGetValue(r.Device, out var failed) ? failed : null);
            return;
        }
        int startId = _hash.FindContaining(r with { Size = 1 });
        if (startId != DmaDebugHash.None)
        {
            ref var start = ref _hash[startId];
            Report(Rules.SyncOutOfBounds,
                $"device driver syncs DMA memory outside allocated range [device address={Hex16(start.DevAddr)}] [allocation size={start.Size} bytes] [sync offset+size={r.DevAddr - start.DevAddr + r.Size}]",
                e, r.DevAddr, r.Size, r.Direction, start.Origin);
            return;
        }
        int ambiguous = _hash.CountContaining(r);
        var released = _released.TryGet(r.Device, r.DevAddr, out var rel) ? rel.ReleasedAt(e.Position.Input) : (EventOrigin?)null;
        string why = ambiguous > 1 ? $": {ambiguous} live mappings contain it and none fits exactly, so dma-debug's best fit finds none"
            : released is { } x ? $": released at line {x.Line}" : "";
        Report(Rules.SyncNotMapped, $"device driver tries to sync DMA memory it has not allocated {tail}{why}", e, r.DevAddr, r.Size, r.Direction, released);
    }

    /// <summary>
    /// debug_dma_sync_sg_for_cpu/_device: entry 0's map decides how many entries are checked. When
    /// entry 0 is unknown the kernel checks nothing; we report the sync of an unmapped list.
    /// </summary>
    private void SyncSg(DmaEvent e)
    {
        bool toCpu = e.Kind == DmaEventKind.DmaSyncSgForCpu;
        var dma = e.DmaAddrs;
        var len = e.Lengths;
        int nelems = dma.Length;
        int mapped = 0;
        for (int i = 0; i < nelems; i++)
        {
            var r = new DebugRef(e.Device, dma[i], len[i], DebugEntryType.Sg, e.Direction, nelems, 0);
            if (i == 0)
            {
                int first = _hash.FindExact(r);
                mapped = first == DmaDebugHash.None ? 0 : _hash[first].SgMappedEnts;
                if (mapped == 0)
                {
                    SyncOfNothing(r, e);
                    return;
                }
            }
            if (i >= mapped) break;
            CheckSync(r, e, toCpu);
        }
    }
}
