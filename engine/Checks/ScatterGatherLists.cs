using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

/// <summary>
/// Live dma_map_sg calls by device and first physical address. dma_unmap_sg prints only the CPU
/// physical addresses of its list, while dma-debug checks the DMA addresses the map stored in the
/// same scatterlist: this index gives them back. Records and their arrays are pooled, so a map
/// allocates nothing once the pool has warmed up.
/// </summary>
internal sealed class ScatterGatherLists
{
    /// <summary>The id of no list (a <see cref="DebugEntry.SgList"/> of a mapping that is not a dma_map_sg segment).</summary>
    public const int NoList = -1;

    private readonly Dictionary<(int Device, ulong FirstPhys), SgList> _heads = new();
    private readonly List<SgList> _byId = [];
    private readonly Stack<SgList> _free = new();

    /// <summary>One dma_map_sg call: its entries, returned segments and where it happened.</summary>
    internal sealed class SgList
    {
        /// <summary>Its index among the records, which debug entries keep instead of a reference.</summary>
        public int Id;
        public long Call;
        public int Device;
        public ulong[] Phys = new ulong[16];
        public ulong[] Dma = new ulong[16];
        public ulong[] Lengths = new ulong[16];
        public int PhysCount, DmaCount;
        public DmaDirection Direction;
        public EventOrigin Origin;
        public SgList? Next; // other live lists with the same device and first entry, oldest first

        public ReadOnlySpan<ulong> PhysSpan => Phys.AsSpan(0, PhysCount);

        public void Fill(DmaEvent e, long call)
        {
            Call = call;
            Device = e.Device;
            Direction = e.Direction;
            Origin = EventOrigin.Of(e);
            Next = null;
            PhysCount = Copy(e.PhysAddrs, ref Phys);
            DmaCount = Copy(e.DmaAddrs, ref Dma);
            Copy(e.Lengths, ref Lengths);
        }

        private static int Copy(ReadOnlySpan<ulong> from, ref ulong[] to)
        {
            if (to.Length < from.Length) to = new ulong[Math.Max(from.Length, to.Length * 2)];
            from.CopyTo(to);
            return from.Length;
        }
    }

    public SgList? Add(DmaEvent e, long call)
    {
        if (e.PhysAddrs.IsEmpty) return null;
        var list = _free.Count > 0 ? _free.Pop() : NewList();
        list.Fill(e, call);
        ref var head = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_heads, (e.Device, e.PhysAddrs[0]), out bool exists);
        if (!exists)
        {
            head = list;
            return list;
        }
        var last = head!;
        while (last.Next is not null) last = last.Next;
        last.Next = list;
        return list;
    }

    /// <summary>
    /// The live list this dma_unmap_sg releases: same device and first entry, preferring the one
    /// whose printed entries agree, then the same direction, then the oldest. The caller hands it
    /// back with <see cref="Recycle"/> when done.
    /// </summary>
    public SgList? Take(DmaEvent e)
    {
        if (e.PhysAddrs.IsEmpty || !_heads.TryGetValue((e.Device, e.PhysAddrs[0]), out var head)) return null;
        SgList? best = null;
        int bestScore = -1;
        for (var l = head; l is not null; l = l.Next)
        {
            int n = Math.Min(l.PhysCount, e.PhysAddrs.Length);
            int score = (l.PhysSpan[..n].SequenceEqual(e.PhysAddrs[..n]) ? 2 : 0) + (l.Direction == e.Direction ? 1 : 0);
            if (score > bestScore)
            {
                best = l;
                bestScore = score;
            }
        }
        Unlink(best!);
        return best;
    }

    private SgList NewList()
    {
        var list = new SgList { Id = _byId.Count };
        _byId.Add(list);
        return list;
    }

    /// <summary>A segment of list <paramref name="id"/> was released another way (a mismatched unmap): the list is gone.</summary>
    public void Retire(int id, long call)
    {
        var list = _byId[id];
        if (list.Call != call || !_heads.TryGetValue((list.Device, list.Phys[0]), out var head)) return; // already taken
        for (var l = head; l is not null; l = l.Next)
        {
            if (!ReferenceEquals(l, list)) continue;
            Unlink(list);
            Recycle(list);
            return;
        }
    }

    public void Recycle(SgList list)
    {
        list.Call = -1;
        list.Next = null;
        _free.Push(list);
    }

    private void Unlink(SgList list)
    {
        var key = (list.Device, list.Phys[0]);
        var head = _heads[key];
        if (ReferenceEquals(head, list))
        {
            if (list.Next is null) _heads.Remove(key);
            else _heads[key] = list.Next;
        }
        else
        {
            var prev = head;
            while (!ReferenceEquals(prev.Next, list)) prev = prev.Next!;
            prev.Next = list.Next;
        }
        list.Next = null;
    }
}
