using DmaReplay.Engine.Checks;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Pools;

/// <summary>
/// The dma_pool rules on the dmareplay pool events (docs/synthetic-format.md), as mm/dmapool.c
/// reports them with DMAPOOL_DEBUG: a free of a block already free (pool-double-free), a free the
/// pool cannot place — another pool's block, an address it never handed out, or any free after
/// dma_pool_destroy (pool-free-foreign) — and a destroy with blocks outstanding
/// (pool-destroy-busy, once per destroy with the count).
/// </summary>
/// <remarks>
/// A pool is (device, name) from its create to its destroy; a later create of the same name is a
/// new pool. Blocks are tracked by the DMA address the trace recorded, so the rules hold whatever
/// chunks the pool got. Pools created before the trace began are taken as they are first seen.
/// </remarks>
public sealed class PoolChecker(FindingSink sink) : ITraceEventHandler
{
    private readonly Dictionary<(int Device, int Name), Pool> _live = new();
    private readonly Dictionary<(int Device, int Name), Pool> _destroyed = new();

    private sealed class Pool(string name)
    {
        public readonly string Name = name;
        public readonly Dictionary<ulong, EventOrigin> Outstanding = new(); // block → its alloc
        public readonly Dictionary<ulong, EventOrigin> Freed = new(); // block → its last free
        public EventOrigin? DestroyedAt;
    }

    public void OnEvent(DmaEvent e)
    {
        if (!e.Kind.IsDmaPool()) return;
        var key = (e.Device, e.Pool);
        switch (e.Kind)
        {
            case DmaEventKind.DmaPoolCreate:
                _live[key] = new Pool(sink.Strings.TextOf(e.Pool));
                _destroyed.Remove(key);
                break;
            case DmaEventKind.DmaPoolAlloc:
                if (e.DmaAddr == 0 && e.VirtAddr == 0) break; // NULL: the pool could not get a page
                var p = LiveOrNew(key, e);
                p.Outstanding[e.DmaAddr] = EventOrigin.Of(e);
                p.Freed.Remove(e.DmaAddr);
                break;
            case DmaEventKind.DmaPoolFree:
                Free(key, e);
                break;
            case DmaEventKind.DmaPoolDestroy:
                Destroy(key, e);
                break;
        }
    }

    private Pool LiveOrNew(in (int, int) key, DmaEvent e)
    {
        if (_live.TryGetValue(key, out var p)) return p;
        return _live[key] = new Pool(sink.Strings.TextOf(e.Pool));
    }

    private void Free((int Device, int Name) key, DmaEvent e)
    {
        if (!_live.TryGetValue(key, out var p))
        {
            if (_destroyed.TryGetValue(key, out var gone))
                Report(Rules.PoolFreeForeign, gone.Name, e,
                    $"dma_pool_free {gone.Name}, {Hex(e.VirtAddr)}/{Hex(e.DmaAddr)} (bad dma): the pool was destroyed at line {gone.DestroyedAt!.Value.Line}", gone.DestroyedAt);
            else if (FindOwner(e.Device, e.DmaAddr, key.Name) is { } owner)
                Report(Rules.PoolFreeForeign, sink.Strings.TextOf(e.Pool), e,
                    $"dma_pool_free {sink.Strings.TextOf(e.Pool)}, {Hex(e.VirtAddr)}/{Hex(e.DmaAddr)} (bad dma): the block belongs to pool {owner.Pool.Name}", owner.At);
            else
                LiveOrNew(key, e); // a pool from before the trace: nothing known of its blocks
            return;
        }
        if (p.Outstanding.Remove(e.DmaAddr))
        {
            p.Freed[e.DmaAddr] = EventOrigin.Of(e);
            return;
        }
        if (p.Freed.TryGetValue(e.DmaAddr, out var first))
        {
            Report(Rules.PoolDoubleFree, p.Name, e, $"dma_pool_free {p.Name}, dma {Hex(e.DmaAddr)} already free (freed at line {first.Line})", first);
            return;
        }
        var other = FindOwner(e.Device, e.DmaAddr, key.Name);
        Report(Rules.PoolFreeForeign, p.Name, e,
            $"dma_pool_free {p.Name}, {Hex(e.VirtAddr)}/{Hex(e.DmaAddr)} (bad dma)" + (other is { } o ? $": the block belongs to pool {o.Pool.Name}" : ": the pool never handed it out"),
            other?.At);
    }

    /// <summary>The live pool of the device (other than <paramref name="exceptName"/>) that has the block outstanding.</summary>
    private (Pool Pool, EventOrigin At)? FindOwner(int device, ulong dma, int exceptName)
    {
        foreach (var ((d, n), pool) in _live)
        {
            if (d == device && n != exceptName && pool.Outstanding.TryGetValue(dma, out var at)) return (pool, at);
        }
        return null;
    }

    private void Destroy((int Device, int Name) key, DmaEvent e)
    {
        var p = _live.GetValueOrDefault(key) ?? new Pool(sink.Strings.TextOf(e.Pool));
        _live.Remove(key);
        p.DestroyedAt = EventOrigin.Of(e);
        _destroyed[key] = p;
        if (p.Outstanding.Count == 0) return;
        var oldest = p.Outstanding.Values.MinBy(o => o.Line);
        Report(Rules.PoolDestroyBusy, p.Name, e,
            $"dma_pool_destroy {p.Name} busy [blocks in use={p.Outstanding.Count}]: its pages are leaked", oldest, p.Outstanding.Count);
    }

    private void Report(string rule, string pool, DmaEvent e, string what, EventOrigin? related, long count = 0) =>
        sink.Report(rule, $"{sink.Strings.Device(e.Device)}: {what}", sink.Strings.Device(e.Device), EventOrigin.Of(e),
            e.DmaAddr, count > 0 ? (ulong)count : e.Size, DmaDirection.None, related, pool: pool);

    private static string Hex(ulong v) => "0x" + v.ToString("x");
}
