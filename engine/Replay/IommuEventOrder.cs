using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// Puts each dma-iommu map back at the moment it allocated its IOVA. dma_map_page, dma_map_sg
/// and dma_alloc are traced after the mapping is done, but the IOVA was taken before the first
/// iommu <c>map</c> event the same context printed; an interrupt on that CPU between the two
/// (a completion unmapping another buffer) happened after the allocation. So the iommu
/// <c>map</c> events of a context open a hold: everything from the first of them on waits until
/// that context's next event; a map or allocation then moves to the hold's start, with the
/// first map's time, and the held events follow in their order.
/// </summary>
internal sealed class IommuEventOrder(Action<DmaEvent> process)
{
    private readonly List<DmaEvent> _held = [];
    private readonly Stack<DmaEvent> _pool = new();
    /// <summary>Per context (CPU, pid, irq level): the index in _held of its first iommu map event.</summary>
    private readonly Dictionary<(int Cpu, int Pid, int Level), int> _open = new();

    public long Moved { get; private set; }

    /// <summary>Nothing held and no hold open: any event but an iommu map goes straight through.</summary>
    public bool Idle => _held.Count == 0 && _open.Count == 0;

    /// <summary>A hold no map closes within this long (an iommu_map of no DMA API call, e.g. the ISA bridge's identity map) is let go.</summary>
    private const long StaleNs = 50_000_000;

    internal static (int Cpu, int Pid, int Level) Context(DmaEvent e)
    {
        var f = e.Flags;
        int level = (f & TraceContextFlags.Nmi) != 0 ? 3 : (f & TraceContextFlags.HardIrq) != 0 ? 2 : (f & TraceContextFlags.SoftIrq) != 0 ? 1 : 0;
        return (e.Cpu, e.Pid, level);
    }

    internal static bool MapsIova(DmaEventKind k) =>
        k is DmaEventKind.DmaMapPage or DmaEventKind.DmaMapPhys or DmaEventKind.DmaMapResource or DmaEventKind.DmaMapSg or DmaEventKind.DmaAlloc;

    public void OnEvent(DmaEvent e)
    {
        if (_open.Count > 0) DropStale(e.TimestampNs);
        var key = Context(e);
        if (e.Kind == DmaEventKind.IommuMap)
        {
            _open.TryAdd(key, _held.Count);
            Hold(e, _held.Count);
            return;
        }
        if (_open.Remove(key, out int start))
        {
            if (MapsIova(e.Kind))
            {
                long at = _held[start].TimestampNs;
                Hold(e, start).TimestampNs = at;
                Moved++;
                foreach (var k in _open.Keys.ToList())
                {
                    if (_open[k] >= start) _open[k]++;
                }
            }
            else
            {
                Hold(e, _held.Count);
            }
            Release();
            return;
        }
        if (_held.Count > 0) Hold(e, _held.Count);
        else process(e);
    }

    private DmaEvent Hold(DmaEvent e, int at)
    {
        var copy = _pool.Count > 0 ? _pool.Pop() : new DmaEvent();
        copy.CopyFrom(e);
        _held.Insert(at, copy);
        return copy;
    }

    /// <summary>Processes the held events before the first one an open context still holds.</summary>
    private void Release()
    {
        int upTo = _open.Count == 0 ? _held.Count : _open.Values.Min();
        if (upTo == 0) return;
        for (int i = 0; i < upTo; i++)
        {
            process(_held[i]);
            _pool.Push(_held[i]);
        }
        _held.RemoveRange(0, upTo);
        foreach (var k in _open.Keys.ToList()) _open[k] -= upTo;
    }

    private void DropStale(long nowNs)
    {
        bool dropped = false;
        foreach (var (k, start) in _open.ToList())
        {
            if (nowNs - _held[start].TimestampNs <= StaleNs) continue;
            _open.Remove(k);
            dropped = true;
        }
        if (dropped) Release();
    }

    /// <summary>End of input: whatever is still held goes through in order.</summary>
    public void Flush()
    {
        _open.Clear();
        Release();
    }
}
