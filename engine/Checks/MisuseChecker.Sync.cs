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
        // The checks here, their messages in methods of their own: formatting would otherwise
        // give this method a stack frame the runtime zeroes on every call.
        if (r.Size > entry.Size) SyncOutOfBounds(r, e, entry);
        if (entry.Direction == DmaDirection.Bidirectional) return;
        if (r.Direction != entry.Direction)
            SyncDirectionMismatch("device driver syncs DMA memory with different direction", r, e, entry);
        if (toCpu && entry.Direction != DmaDirection.FromDevice && r.Direction != DmaDirection.ToDevice)
            SyncDirectionMismatch("device driver syncs device read-only DMA memory for cpu", r, e, entry);
        if (!toCpu && entry.Direction != DmaDirection.ToDevice && r.Direction != DmaDirection.FromDevice)
            SyncDirectionMismatch("device driver syncs device write-only DMA memory to device", r, e, entry);
        if (r.SgCallEnts != 0 && r.Type == DebugEntryType.Sg && r.SgCallEnts != entry.SgCallEnts) SyncNentsMismatch(r, e, entry);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SyncOutOfBounds(in DebugRef r, DmaEvent e, in DebugEntry entry) =>
        Report(Rules.SyncOutOfBounds,
            $"device driver syncs DMA memory outside allocated range [device address={Hex16(entry.DevAddr)}] [allocation size={entry.Size} bytes] [sync offset+size={r.Size}]",
            e, r.DevAddr, r.Size, r.Direction, entry.Origin);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SyncDirectionMismatch(string what, in DebugRef r, DmaEvent e, in DebugEntry entry) =>
        Report(Rules.SyncDirectionMismatch,
            $"{what} [device address={Hex16(r.DevAddr)}] [size={entry.Size} bytes] [mapped with {entry.Direction.KernelName()}] [synced with {r.Direction.KernelName()}]",
            e, r.DevAddr, r.Size, r.Direction, entry.Origin);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SyncNentsMismatch(in DebugRef r, DmaEvent e, in DebugEntry entry) =>
        Report(Rules.SgNentsMismatch,
            $"device driver syncs DMA sg list with different entry count [map count={entry.SgCallEnts}] [sync count={r.SgCallEnts}]",
            e, r.DevAddr, r.Size, r.Direction, entry.Origin);

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
