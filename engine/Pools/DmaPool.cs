namespace DmaReplay.Engine.Pools;

/// <summary>What <see cref="DmaPool.Free"/> found (mm/dmapool.c pool_block_err under DMAPOOL_DEBUG).</summary>
public enum DmaPoolFreeResult : byte
{
    /// <summary>The block went back on the head of the free list.</summary>
    Freed,
    /// <summary>No page of the pool holds the address: "dma_pool_free %s, %p/%pad (bad dma)"; ignored.</summary>
    BadDma,
    /// <summary>The block is on the free list already: "dma_pool_free %s, dma %pad already free"; ignored.</summary>
    AlreadyFree,
}

/// <summary>
/// One dma_pool exactly as mm/dmapool.c (v6.4+, as in 6.12) keeps it: blocks of <see cref="Size"/>
/// bytes carved from chunks of <see cref="Allocation"/> bytes that dma_alloc_coherent returned,
/// one free list across all chunks (LIFO: the next alloc returns the block freed last; a new
/// chunk's blocks are prepended in ascending order), and the chunk list newest first.
/// </summary>
/// <remarks>
/// Addresses are DMA addresses: block = chunk dma + offset, as dma_pool_alloc returns
/// <c>block->dma</c>. Only the bookkeeping is modelled (no poison bytes). Not on the hot path: pool
/// events exist only in synthetic traces.
/// </remarks>
public sealed class DmaPool
{
    private const ulong None = ulong.MaxValue;
    private readonly List<ulong> _pages = []; // newest first (list_add)
    private readonly Dictionary<ulong, ulong> _next = new(); // free block → next free block (block->next_block)
    private ulong _head = None; // pool->next_block

    private DmaPool(string name, ulong size, ulong allocation, ulong boundary)
    {
        Name = name;
        Size = size;
        Allocation = allocation;
        Boundary = boundary;
    }

    public string Name { get; }
    /// <summary>pool->size: the block size after the minimum and the alignment.</summary>
    public ulong Size { get; }
    /// <summary>pool->allocation: bytes of each chunk, max(size, PAGE_SIZE).</summary>
    public ulong Allocation { get; }
    /// <summary>pool->boundary: no block crosses a multiple of it within its chunk.</summary>
    public ulong Boundary { get; }
    /// <summary>pool->nr_active: blocks handed out.</summary>
    public long Active { get; private set; }
    /// <summary>pool->nr_blocks: blocks carved so far.</summary>
    public long Blocks { get; private set; }
    public int Pages => _pages.Count;
    /// <summary>The chunks' DMA addresses, newest first (pool->page_list order).</summary>
    public IReadOnlyList<ulong> PageList => _pages;
    /// <summary>The block the next <see cref="Alloc"/> returns; null when a new chunk is needed first.</summary>
    public ulong? NextBlock => _head == None ? null : _head;

    /// <summary>
    /// dma_pool_create_node: align 0 → 1, else a power of two; size 0 or above INT_MAX fails; size
    /// at least sizeof(struct dma_block), then ALIGN(size, align); allocation = max(size,
    /// PAGE_SIZE); boundary 0 → allocation, else a power of two not below size, then
    /// min(boundary, allocation). Null where the kernel returns NULL.
    /// </summary>
    public static DmaPool? Create(string name, ulong size, ulong align, ulong boundary, KernelDefaults k)
    {
        if (align == 0) align = 1;
        else if ((align & (align - 1)) != 0) return null;
        if (size == 0 || size > int.MaxValue) return null;
        size = Math.Max(size, k.DmaPoolMinBlock);
        size = (size + align - 1) & ~(align - 1);
        ulong allocation = Math.Max(size, k.PageSize);
        if (boundary == 0) boundary = allocation;
        else if (boundary < size || (boundary & (boundary - 1)) != 0) return null;
        boundary = Math.Min(boundary, allocation);
        return new DmaPool(name.Length > k.DmaPoolNameMax ? name[..k.DmaPoolNameMax] : name, size, allocation, boundary);
    }

    /// <summary>
    /// The block offsets of one chunk in the order pool_initialise_page links them: ascending,
    /// and when a block would run past the next boundary multiple, the carving jumps to it.
    /// </summary>
    public static IEnumerable<ulong> BlockOffsets(ulong size, ulong allocation, ulong boundary)
    {
        ulong offset = 0, nextBoundary = boundary;
        while (offset + size <= allocation)
        {
            if (offset + size > nextBoundary)
            {
                offset = nextBoundary;
                nextBoundary += boundary;
                continue;
            }
            yield return offset;
            offset += size;
        }
    }

    /// <summary>
    /// pool_initialise_page: a new chunk at <paramref name="dma"/> (what dma_alloc_coherent returned
    /// for <see cref="Allocation"/> bytes); its blocks, linked low to high, go before the free list.
    /// </summary>
    public void AddPage(ulong dma)
    {
        ulong first = None, last = None;
        foreach (ulong off in BlockOffsets(Size, Allocation, Boundary))
        {
            ulong block = dma + off;
            if (last == None) first = block;
            else _next[last] = block;
            last = block;
            Blocks++;
        }
        if (last != None)
        {
            _next[last] = _head;
            _head = first;
        }
        _pages.Insert(0, dma);
    }

    /// <summary>pool_block_pop: the head of the free list; the caller adds a chunk first when <see cref="NextBlock"/> is null.</summary>
    public ulong Alloc()
    {
        if (_head == None) throw new InvalidOperationException($"dma pool {Name}: no free block (add a page first)");
        ulong block = _head;
        _head = _next[block];
        _next.Remove(block);
        Active++;
        return block;
    }

    /// <summary>pool_find_page: the chunk holding <paramref name="dma"/>, searched newest first; null when none.</summary>
    public ulong? PageOf(ulong dma)
    {
        foreach (ulong page in _pages)
        {
            if (dma >= page && dma - page < Allocation) return page;
        }
        return null;
    }

    public bool IsFree(ulong dma) => dma == _head || _next.ContainsKey(dma);

    /// <summary>dma_pool_free with DMAPOOL_DEBUG: the page check, the free-list walk, then pool_block_push.</summary>
    public DmaPoolFreeResult Free(ulong dma)
    {
        if (PageOf(dma) is null) return DmaPoolFreeResult.BadDma;
        if (IsFree(dma)) return DmaPoolFreeResult.AlreadyFree;
        _next[dma] = _head;
        _head = dma;
        Active--;
        return DmaPoolFreeResult.Freed;
    }

    /// <summary>The free list from its head, as dma_pool_alloc will hand it out.</summary>
    public IEnumerable<ulong> FreeList()
    {
        for (ulong b = _head; b != None; b = _next[b]) yield return b;
    }
}
