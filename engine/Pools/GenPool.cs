namespace DmaReplay.Engine.Pools;

/// <summary>
/// A gen_pool (lib/genalloc.c) with the atomic pools' settings: min_alloc_order = PAGE_SHIFT and
/// gen_pool_first_fit_order_align. Chunks are searched newest first (gen_pool_add_owner uses
/// list_add_rcu at the head); a chunk whose avail is below the request is skipped.
/// </summary>
/// <remarks>
/// The kernel's chunk addresses are not in any trace, so each chunk gets a base of our own
/// (<see cref="ChunkBase"/>: chunks laid end to end from 0); what the allocator decides is the
/// chunk and the offset within it, which is what a replay compares.
/// </remarks>
public sealed class GenPool(int minAllocOrder)
{
    private readonly List<Chunk> _chunks = []; // in the order added; searched newest first

    private sealed class Chunk(ulong start, ulong size, int order)
    {
        public readonly ulong Start = start;
        public readonly ulong Size = size;
        public readonly PageBitmap Bits = new((int)(size >> order));
        public ulong Avail = size;
    }

    /// <summary>gen_pool_size: bytes of every chunk.</summary>
    public ulong Size { get; private set; }
    /// <summary>gen_pool_avail: bytes not allocated.</summary>
    public ulong Avail { get; private set; }
    public int Chunks => _chunks.Count;
    public ulong ChunkBase(int chunk) => _chunks[chunk].Start;

    /// <summary>gen_pool_add_virt: a new chunk of <paramref name="size"/> bytes, searched before the older ones.</summary>
    public void AddChunk(ulong size)
    {
        _chunks.Add(new Chunk(Size, size, minAllocOrder));
        Size += size;
        Avail += size;
    }

    /// <summary>
    /// gen_pool_alloc: nbits = size in units (rounded up); the first chunk, newest first, with
    /// avail ≥ size where bitmap_find_next_zero_area finds nbits clear bits at a multiple of
    /// roundup_pow_of_two(nbits). Returns the chunk index and the byte offset in it; null when no
    /// chunk has room.
    /// </summary>
    public (int Chunk, ulong Offset)? Alloc(ulong size)
    {
        if (size == 0) return null;
        int nbits = (int)((size + (1UL << minAllocOrder) - 1) >> minAllocOrder);
        int alignMask = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)nbits) - 1;
        for (int c = _chunks.Count - 1; c >= 0; c--)
        {
            var ch = _chunks[c];
            if (size > ch.Avail) continue;
            int bit = ch.Bits.FindNextZeroArea(0, nbits, alignMask);
            if (bit + nbits > ch.Bits.Bits) continue;
            ch.Bits.SetRange(bit, nbits, true);
            ulong bytes = (ulong)nbits << minAllocOrder;
            ch.Avail -= bytes;
            Avail -= bytes;
            return (c, (ulong)bit << minAllocOrder);
        }
        return null;
    }

    /// <summary>The chunk holding the pool address <paramref name="addr"/> (gen_pool_has_addr); -1 when none.</summary>
    public int ChunkOf(ulong addr)
    {
        for (int c = _chunks.Count - 1; c >= 0; c--)
        {
            if (addr >= _chunks[c].Start && addr - _chunks[c].Start < _chunks[c].Size) return c;
        }
        return -1;
    }

    /// <summary>gen_pool_free of <paramref name="size"/> bytes at chunk offset <paramref name="offset"/>.</summary>
    public void Free(int chunk, ulong offset, ulong size)
    {
        var ch = _chunks[chunk];
        int nbits = (int)((size + (1UL << minAllocOrder) - 1) >> minAllocOrder);
        ch.Bits.SetRange((int)(offset >> minAllocOrder), nbits, false);
        ulong bytes = (ulong)nbits << minAllocOrder;
        ch.Avail += bytes;
        Avail += bytes;
    }
}
