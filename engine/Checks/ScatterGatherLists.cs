using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

/// <summary>
/// Live dma_map_sg calls by device and first physical address. dma_unmap_sg prints only the CPU
/// physical addresses of its list, while dma-debug checks the DMA addresses the map stored in the
/// same scatterlist: this index gives them back.
/// </summary>
internal sealed class ScatterGatherLists
{
    private readonly Dictionary<(int Device, ulong FirstPhys), List<SgList>> _lists = new();

    public sealed record SgList(long Call, ulong[] Phys, ulong[] Dma, ulong[] Lengths, int Nents, int Ents, DmaDirection Direction, EventOrigin Origin);

    public void Add(DmaEvent e, long call)
    {
        if (e.PhysAddrs.IsEmpty) return;
        var key = (e.Device, e.PhysAddrs[0]);
        if (!_lists.TryGetValue(key, out var list)) _lists[key] = list = [];
        list.Add(new SgList(call, e.PhysAddrs.ToArray(), e.DmaAddrs.ToArray(), e.Lengths.ToArray(), e.Nents, e.Ents, e.Direction, EventOrigin.Of(e)));
    }

    /// <summary>
    /// The live list this dma_unmap_sg releases: same device and first entry, preferring the one
    /// whose printed entries agree, then the same direction, then the oldest.
    /// </summary>
    public SgList? Take(DmaEvent e)
    {
        if (e.PhysAddrs.IsEmpty || !_lists.TryGetValue((e.Device, e.PhysAddrs[0]), out var list)) return null;
        SgList? best = null;
        int bestScore = -1;
        foreach (var l in list)
        {
            int n = Math.Min(l.Phys.Length, e.PhysAddrs.Length);
            int score = (l.Phys.AsSpan(0, n).SequenceEqual(e.PhysAddrs[..n]) ? 2 : 0) + (l.Direction == e.Direction ? 1 : 0);
            if (score > bestScore)
            {
                best = l;
                bestScore = score;
            }
        }
        list.Remove(best!);
        if (list.Count == 0) _lists.Remove((e.Device, e.PhysAddrs[0]));
        return best;
    }

    /// <summary>Removes the list of a map call whose entries were released some other way (a mismatched unmap).</summary>
    public void Forget(int device, ulong firstPhys, long call)
    {
        if (!_lists.TryGetValue((device, firstPhys), out var list)) return;
        list.RemoveAll(l => l.Call == call);
        if (list.Count == 0) _lists.Remove((device, firstPhys));
    }
}
