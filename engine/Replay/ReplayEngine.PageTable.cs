using System.Runtime.InteropServices;
using DmaReplay.Engine.Iommu;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// The page-table witness: the trace's iommu <c>map</c>/<c>unmap</c> events (trace_map in
/// iommu_map, trace_unmap in iommu_unmap) are a second record of what dma-iommu did, next to the
/// addresses the dma events return. The events name no device; they belong to the DMA API call of
/// the same context (CPU, pid, irq level): iommu_map runs inside dma_map_*/dma_alloc before its dma
/// event (IommuEventOrder puts that event first), iommu_unmap inside dma_unmap_* before its event,
/// in lazy mode too (only the IOTLB flush and the IOVA free wait for the flush queue). Each emulated
/// update is compared with the recorded ones of its context in order; a recorded update may be
/// split in several events (a coherent allocation's pages, the entries of a merged sg segment), so
/// an update of unknown paddr is matched by IOVA-contiguous events adding up to its size. Recorded
/// updates no DMA API call explains (the boot-time identity map of the ISA bridge) are counted as
/// not compared, by reason.
/// </summary>
public sealed partial class ReplayEngine
{
    internal const string NoDmaMapReason = "map outside a DMA API map (boot-time or identity)";
    internal const string NoDmaUnmapReason = "unmap outside a DMA API unmap";

    private struct PtUpdate
    {
        public ulong Iova, Paddr, Size, Done;
        public long Line;
        public int Device;
    }

    /// <summary>One context's updates waiting for their counterpart: lists with a head index, reused.</summary>
    private sealed class PtQueue
    {
        public readonly List<PtUpdate> Items = [];
        public int Head;
        public int Count => Items.Count - Head;
        public ref PtUpdate Peek() => ref CollectionsMarshal.AsSpan(Items)[Head];

        public PtUpdate Dequeue()
        {
            var x = Items[Head++];
            if (Head == Items.Count)
            {
                Items.Clear();
                Head = 0;
            }
            return x;
        }
    }

    private sealed class PtContext
    {
        public readonly PtQueue ExpectedMaps = new(), RecordedMaps = new(), ExpectedUnmaps = new(), RecordedUnmaps = new();
    }

    private readonly Dictionary<(int Cpu, int Pid, int Level), PtContext> _ptContexts = new();
    private DmaEvent? _ptEvent;
    private long _ptCompared, _ptExact, _ptNoDmaMap, _ptNoDmaUnmap;

    private PtContext PtContextOf(DmaEvent e)
    {
        var key = IommuEventOrder.Context(e);
        if (!_ptContexts.TryGetValue(key, out var ctx)) _ptContexts[key] = ctx = new PtContext();
        return ctx;
    }

    /// <summary>Before a DMA API event is replayed: what its context left unmatched is judged now.</summary>
    private void PageTableBegin(DmaEvent e, bool maps)
    {
        var ctx = PtContextOf(e);
        while (ctx.ExpectedMaps.Count > 0) PtMissing(ctx.ExpectedMaps.Dequeue(), "iommu_map (none recorded)");
        while (ctx.ExpectedUnmaps.Count > 0) PtMissing(ctx.ExpectedUnmaps.Dequeue(), "iommu_unmap (none recorded)");
        if (!maps) return;
        while (ctx.RecordedMaps.Count > 0)
        {
            ctx.RecordedMaps.Dequeue();
            _ptNoDmaMap++;
        }
        while (ctx.RecordedUnmaps.Count > 0)
        {
            ctx.RecordedUnmaps.Dequeue();
            _ptNoDmaUnmap++;
        }
    }

    private void PtMissing(in PtUpdate x, string kind)
    {
        _ptCompared++;
        Mismatched(x.Line, kind, x.Device, x.Paddr, x.Size, DmaAddress.MappingError, x.Iova);
    }

    private void PtMismatch(in PtUpdate expected, in PtUpdate recorded, string kind)
    {
        _ptCompared++;
        Mismatched(recorded.Line, kind, expected.Device,
            expected.Paddr == IIommuPageTable.UnknownPaddr ? recorded.Paddr : expected.Paddr, expected.Size, recorded.Iova, expected.Iova);
    }

    /// <summary>A recorded iommu map or unmap event.</summary>
    private void PageTableRecorded(DmaEvent e)
    {
        var ctx = PtContextOf(e);
        var r = new PtUpdate { Iova = e.DmaAddr, Paddr = e.PhysAddr, Size = e.Size, Line = e.Position.Line, Device = -1 };
        if (e.Kind == DmaEventKind.IommuMap)
        {
            if (ctx.ExpectedMaps.Count > 0) MatchMap(ctx.ExpectedMaps, r);
            else ctx.RecordedMaps.Items.Add(r);
        }
        else
        {
            if (ctx.ExpectedUnmaps.Count > 0) MatchUnmap(ctx.ExpectedUnmaps.Dequeue(), r);
            else ctx.RecordedUnmaps.Items.Add(r);
        }
    }

    /// <summary>A recorded map event against the head expected map: the next IOVA-contiguous piece of it, or a mismatch.</summary>
    private void MatchMap(PtQueue expected, in PtUpdate r)
    {
        ref var x = ref expected.Peek();
        bool fits = r.Iova == x.Iova + x.Done && x.Done + r.Size <= x.Size
            && (x.Paddr == IIommuPageTable.UnknownPaddr || r.Paddr == x.Paddr + x.Done);
        if (!fits)
        {
            PtMismatch(expected.Dequeue(), r, "iommu_map");
            return;
        }
        x.Done += r.Size;
        if (x.Done < x.Size) return;
        expected.Dequeue();
        _ptCompared++;
        _ptExact++;
    }

    private void MatchUnmap(in PtUpdate x, in PtUpdate r)
    {
        if (r.Iova == x.Iova && r.Size == x.Size)
        {
            _ptCompared++;
            _ptExact++;
        }
        else
        {
            PtMismatch(x, r, "iommu_unmap");
        }
    }

    /// <summary>Emulated updates arrive here while <see cref="_ptEvent"/> is replayed; timer flushes have no event.</summary>
    private sealed class PageTableWitness(ReplayEngine engine) : IIommuPageTable
    {
        public void Map(IommuDmaDomain domain, ulong iova, ulong paddr, ulong size)
        {
            if (engine._ptEvent is not { } e) return;
            var ctx = engine.PtContextOf(e);
            var x = new PtUpdate { Iova = iova, Paddr = paddr, Size = size, Line = e.Position.Line, Device = e.Device };
            ctx.ExpectedMaps.Items.Add(x);
        }

        public void Unmap(IommuDmaDomain domain, ulong iova, ulong size, bool strict)
        {
            if (engine._ptEvent is not { } e) return;
            var ctx = engine.PtContextOf(e);
            var x = new PtUpdate { Iova = iova, Size = size, Paddr = 0, Line = e.Position.Line, Device = e.Device };
            if (ctx.RecordedUnmaps.Count > 0) engine.MatchUnmap(x, ctx.RecordedUnmaps.Dequeue());
            else ctx.ExpectedUnmaps.Items.Add(x);
        }

        public void FlushAll(IommuDmaDomain domain) { }
    }

    /// <summary>End of input: whatever is still waiting is judged.</summary>
    private PageTableTally? PageTableSummary()
    {
        if (!IsCaptureOwn) return null;
        foreach (var ctx in _ptContexts.Values)
        {
            while (ctx.ExpectedMaps.Count > 0) PtMissing(ctx.ExpectedMaps.Dequeue(), "iommu_map (none recorded)");
            while (ctx.ExpectedUnmaps.Count > 0) PtMissing(ctx.ExpectedUnmaps.Dequeue(), "iommu_unmap (none recorded)");
            _ptNoDmaMap += ctx.RecordedMaps.Count;
            _ptNoDmaUnmap += ctx.RecordedUnmaps.Count;
        }
        if (_ptCompared == 0 && _ptNoDmaMap == 0 && _ptNoDmaUnmap == 0 && _iommu.Domains.Count == 0) return null;
        return new PageTableTally(_ptCompared, _ptExact,
            [KeyValuePair.Create(NoDmaMapReason, _ptNoDmaMap), KeyValuePair.Create(NoDmaUnmapReason, _ptNoDmaUnmap)]);
    }
}
