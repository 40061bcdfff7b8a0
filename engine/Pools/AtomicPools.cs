using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Pools;

/// <summary>The zone of an atomic pool (kernel/dma/pool.c atomic_pool_dma, _dma32, _kernel).</summary>
public enum AtomicZone : byte { Dma, Dma32, Kernel }

/// <summary>
/// The atomic pools of kernel/dma/pool.c (6.12): one gen_pool per zone, sized at boot from RAM
/// or coherent_pool=, chosen by dma_guess_pool, grown by the background worker.
/// </summary>
/// <remarks>
/// <para>Pools: the kernel pool always (6.12 creates it even when ZONE_NORMAL is empty, as the
/// real captures' dmesg shows), the DMA pool when ZONE_DMA has memory (has_managed_dma), the
/// DMA32 pool always (CONFIG_ZONE_DMA32 on x86-64 and arm64). Each starts with one chunk of
/// 2^min(get_order(atomic_pool_size), MAX_PAGE_ORDER) pages (atomic_pool_expand rounds up).</para>
/// <para>Growth timing is an assumption: schedule_work() queues atomic_pool_work on system_wq;
/// we let it run <see cref="ExpandDelayNs"/> after it was scheduled (at the first event at or after
/// that time), and its alloc_pages(GFP_KERNEL) always succeed. While queued it is not queued again
/// (schedule_work on a pending work is a no-op). A run grows every pool whose gen_pool_avail is
/// below atomic_pool_size by one chunk of its current size (atomic_pool_resize), capped at
/// MAX_PAGE_ORDER.</para>
/// </remarks>
public sealed class AtomicPools
{
    private readonly GenPool?[] _pools = new GenPool?[3];
    private readonly KernelDefaults _k;
    private long _workDueNs = -1;

    public AtomicPools(ulong atomicPoolSize, bool hasDmaZone, long expandDelayNs, KernelDefaults k)
    {
        _k = k;
        AtomicPoolSize = atomicPoolSize;
        ExpandDelayNs = expandDelayNs;
        // dma_atomic_pool_init: kernel, then DMA, then DMA32 (the order of the dmesg lines)
        _pools[(int)AtomicZone.Kernel] = Init();
        if (hasDmaZone) _pools[(int)AtomicZone.Dma] = Init();
        _pools[(int)AtomicZone.Dma32] = Init();
        for (int z = 0; z < 3; z++) InitialSize[z] = _pools[z]?.Size ?? 0;
    }

    /// <summary>Our assumption for when atomic_pool_work runs after schedule_work(): 1 ms (a kworker of system_wq wakes within a jiffy or so).</summary>
    public const long DefaultExpandDelayNs = 1_000_000;

    /// <summary>atomic_pool_size: coherent_pool= or the default from RAM.</summary>
    public ulong AtomicPoolSize { get; }
    public long ExpandDelayNs { get; }
    public ulong[] InitialSize { get; } = new ulong[3];
    public long Expansions { get; private set; }

    public GenPool? Pool(AtomicZone z) => _pools[(int)z];

    /// <summary>
    /// dma_atomic_pool_init's default: totalram_pages() / (SZ_1G / SZ_128K) pages, at most
    /// MAX_ORDER_NR_PAGES, at least 128 KiB. <paramref name="ramBytes"/> stands in for
    /// totalram_pages (the kernel counts managed pages, a little less than the RAM ranges).
    /// </summary>
    public static ulong DefaultSize(ulong ramBytes, KernelDefaults k)
    {
        ulong pages = (ramBytes >> k.PageShift) / k.AtomicPoolRamDivisor;
        pages = Math.Min(pages, 1UL << k.MaxPageOrder);
        return Math.Max(pages << k.PageShift, k.AtomicPoolMinBytes);
    }

    /// <summary>atomic_pool_expand: one chunk of 2^order pages, order = min(get_order(size), MAX_PAGE_ORDER).</summary>
    public ulong ChunkBytes(ulong poolSize)
    {
        int order = Math.Min(DevCoherentMem.GetOrder(poolSize, _k.PageShift), _k.MaxPageOrder);
        return 1UL << (_k.PageShift + order);
    }

    private GenPool Init()
    {
        var g = new GenPool(_k.PageShift);
        g.AddChunk(ChunkBytes(AtomicPoolSize));
        return g;
    }

    /// <summary>
    /// dma_guess_pool (6.12): first GFP_DMA32 → DMA32; GFP_DMA with a DMA pool → DMA; else the
    /// kernel pool. After a failure: kernel → DMA32 (or DMA), DMA32 → DMA, DMA → none.
    /// </summary>
    public AtomicZone? Guess(AtomicZone? prev, GfpFlags gfp)
    {
        if (prev is null)
        {
            if ((gfp & GfpFlags.Dma32) != 0) return AtomicZone.Dma32;
            if (_pools[(int)AtomicZone.Dma] is not null && (gfp & GfpFlags.Dma) != 0) return AtomicZone.Dma;
            return AtomicZone.Kernel;
        }
        return prev switch
        {
            AtomicZone.Kernel => _pools[(int)AtomicZone.Dma32] is not null ? AtomicZone.Dma32 : Present(AtomicZone.Dma),
            AtomicZone.Dma32 => Present(AtomicZone.Dma),
            _ => null,
        };
    }

    private AtomicZone? Present(AtomicZone z) => _pools[(int)z] is null ? null : z;

    /// <summary>
    /// dma_alloc_from_pool: each pool dma_guess_pool names, gen_pool_alloc, then phys_addr_ok
    /// (<paramref name="coherentOk"/>, dma_coherent_ok of the zone; a failed check frees the block
    /// and moves on); a success with gen_pool_avail below atomic_pool_size schedules the worker.
    /// Null when every pool failed ("DMA pool exhausted for %s").
    /// </summary>
    public (AtomicZone Zone, int Chunk, ulong Offset)? Alloc(ulong size, GfpFlags gfp, Func<AtomicZone, bool>? coherentOk, long nowNs)
    {
        Advance(nowNs);
        for (var z = Guess(null, gfp); z is { } zone; z = Guess(zone, gfp))
        {
            var pool = _pools[(int)zone];
            if (pool is null) break;
            if (pool.Alloc(size) is not { } got) continue;
            if (coherentOk is not null && !coherentOk(zone))
            {
                pool.Free(got.Chunk, got.Offset, size);
                continue;
            }
            if (pool.Avail < AtomicPoolSize && _workDueNs < 0) _workDueNs = nowNs + ExpandDelayNs;
            return (zone, got.Chunk, got.Offset);
        }
        return null;
    }

    /// <summary>dma_free_from_pool: the pool (in dma_guess_pool order for gfp 0) whose chunk holds the address.</summary>
    public void Free(AtomicZone zone, int chunk, ulong offset, ulong size, long nowNs)
    {
        Advance(nowNs);
        _pools[(int)zone]!.Free(chunk, offset, size);
    }

    /// <summary>Runs atomic_pool_work_fn when it is due: DMA, DMA32, then kernel pool resized.</summary>
    public bool Advance(long nowNs)
    {
        if (_workDueNs < 0 || nowNs < _workDueNs) return false;
        _workDueNs = -1;
        foreach (var z in (ReadOnlySpan<AtomicZone>)[AtomicZone.Dma, AtomicZone.Dma32, AtomicZone.Kernel])
        {
            var pool = _pools[(int)z];
            if (pool is null || pool.Avail >= AtomicPoolSize) continue;
            pool.AddChunk(ChunkBytes(pool.Size)); // atomic_pool_expand(pool, gen_pool_size(pool), gfp)
            Expansions++;
        }
        return true;
    }

    public static string Name(AtomicZone z) => z switch
    {
        AtomicZone.Dma => "dma",
        AtomicZone.Dma32 => "dma32",
        _ => "kernel",
    };

    /// <summary>The gfp the kernel prints for the pool in "DMA: preallocated %zu KiB %pGg pool for atomic allocations".</summary>
    public static string GfpName(AtomicZone z) => z switch
    {
        AtomicZone.Dma => "GFP_KERNEL|GFP_DMA",
        AtomicZone.Dma32 => "GFP_KERNEL|GFP_DMA32",
        _ => "GFP_KERNEL",
    };
}
