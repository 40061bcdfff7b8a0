using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Swiotlb;

/// <summary>The device parameters SWIOTLB reads on every call.</summary>
public readonly record struct BounceDevice(ulong MinAlignMask, ulong SegmentBoundaryMask);

/// <summary>The result of swiotlb_tbl_map_single: the bounce address, or failure.</summary>
public readonly record struct BounceResult(bool Ok, ulong TlbAddr, int Slots, int Area, long SearchSteps);

/// <summary>
/// struct io_tlb_mem of kernel/dma/swiotlb.c: the default pool and, with CONFIG_SWIOTLB_DYNAMIC,
/// the pools added when it ran full and the transient pools; the used and high-water counters
/// (debugfs io_tlb_used, io_tlb_used_hiwater); and the bounce copies each call makes.
/// </summary>
public sealed class SwiotlbMem
{
    private readonly KernelDefaults _k;
    private readonly List<SwiotlbPool> _pools = []; // most recently added first, as the kernel's RCU list
    private readonly List<SwiotlbPool> _transient = [];
    private readonly int _defaultNareas;
    private readonly int _defaultNslabs;
    private ulong _nextPoolStart;

    public SwiotlbMem(SwiotlbConfig config, KernelDefaults k)
    {
        if (config.Start is null) throw new ArgumentException("the SWIOTLB pool start is unknown", nameof(config));
        _k = k;
        Config = config;
        _defaultNareas = config.Nareas;
        _defaultNslabs = config.Nslabs;
        DefaultPool = new SwiotlbPool(config.Start.Value, config.Nslabs, config.Nareas, k);
        _pools.Add(DefaultPool);
        _nextPoolStart = DefaultPool.End;
    }

    public SwiotlbConfig Config { get; }
    internal SwiotlbPool DefaultPool { get; }
    public int Nslabs => _pools.Sum(p => p.Nslabs);
    /// <summary>Slots in use (io_tlb_used).</summary>
    public long Used { get; private set; }
    /// <summary>Most slots in use at once (io_tlb_used_hiwater).</summary>
    public long UsedHiwater { get; private set; }
    public long MapFailures { get; private set; }
    public long BytesToDevice { get; private set; }
    public long BytesFromDevice { get; private set; }
    public long BounceCopies { get; private set; }
    public long SearchSteps { get; private set; }
    public int PoolsAdded { get; private set; }
    public long TransientMappings { get; private set; }

    public int Nareas => DefaultPool.Nareas;
    public int AreaUsed(int area) => DefaultPool.AreaUsed(area);
    public int AreaIndex(int area) => DefaultPool.AreaIndex(area);
    public int LargestFreeRun() => _pools.Max(p => p.LargestFreeRun());

    public bool IsBounceBuffer(ulong addr) => FindPool(addr) is not null;

    /// <summary>The area of the default pool holding <paramref name="tlbAddr"/>; -1 for an address of another pool.</summary>
    public int DefaultPoolArea(ulong tlbAddr) =>
        DefaultPool.Contains(tlbAddr) ? DefaultPool.AreaOfSlot((int)((tlbAddr - DefaultPool.Start) >> _k.IoTlbShift)) : -1;

    /// <summary>The most one bounce mapping can hold (swiotlb_max_mapping_size).</summary>
    public ulong MaxMappingSize(BounceDevice dev)
    {
        ulong max = (ulong)_k.IoTlbSegSize << _k.IoTlbShift;
        return dev.MinAlignMask == 0 ? max : max - ((dev.MinAlignMask + (ulong)_k.IoTlbSize - 1) & ~((ulong)_k.IoTlbSize - 1));
    }

    /// <summary>
    /// swiotlb_tbl_map_single: find slots for the buffer at <paramref name="orig"/> from the area of
    /// <paramref name="cpu"/>, record the original address, and copy the buffer in (always, whatever
    /// the direction, since v5.19). <paramref name="tblDma"/> is phys_to_dma_unencrypted(pool start).
    /// </summary>
    public BounceResult Map(BounceDevice dev, ulong orig, ulong mappingSize, ulong allocAlignMask, int cpu, Func<ulong, ulong> toDma)
    {
        ulong slotMask = (ulong)_k.IoTlbSize - 1;
        // v6.9+: swiotlb_align_offset(dev, alloc_align_mask, orig) and ALIGN(mapping_size + offset, align + 1);
        // ≤ 6.8: the offset within a slot only, added to the (granule-aligned) alloc_size.
        ulong offset = orig & dev.MinAlignMask & ((_k.SwiotlbPadSlots ? allocAlignMask : 0) | slotMask);
        ulong size = _k.SwiotlbPadSlots
            ? (mappingSize + offset + allocAlignMask) & ~allocAlignMask
            : ((mappingSize + allocAlignMask) & ~allocAlignMask) + offset;
        long steps = 0;
        int index = FindSlots(dev, orig, size, allocAlignMask, cpu, toDma, ref steps, out var pool, out int area);
        SearchSteps += steps;
        if (index < 0)
        {
            MapFailures++;
            return new BounceResult(false, DmaAddress.MappingError, 0, -1, steps);
        }
        int nslots = (int)((size + slotMask) >> _k.IoTlbShift);
        Used += nslots;
        if (Used > UsedHiwater) UsedHiwater = Used;

        int pad = (int)(offset >> _k.IoTlbShift);
        offset &= slotMask;
        index += pad;
        pool!.SetOrig(index - pad, pad, orig); // pad_slots and every data slot's orig_addr
        ulong tlb = pool.Start + ((ulong)index << _k.IoTlbShift) + offset;
        Copy(mappingSize, toDevice: true);
        return new BounceResult(true, tlb, nslots, area, steps);
    }

    /// <summary>
    /// swiotlb_tbl_unmap_single: copy back for FROM_DEVICE and BIDIRECTIONAL unless
    /// SKIP_CPU_SYNC, then release the slots (or the whole transient pool). Returns false when the
    /// address is no bounce buffer.
    /// </summary>
    public bool Unmap(BounceDevice dev, ulong tlbAddr, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
        var pool = FindPool(tlbAddr);
        if (pool is null) return false;
        if ((attrs & DmaAttrs.SkipCpuSync) == 0 && dir is DmaDirection.FromDevice or DmaDirection.Bidirectional)
            Copy(Clamp(pool, dev, tlbAddr, size), toDevice: false);
        int freed;
        if (pool.Transient)
        {
            freed = pool.Nslabs;
            _transient.Remove(pool);
        }
        else
        {
            freed = pool.Release(tlbAddr, dev.MinAlignMask);
        }
        Used -= freed;
        return true;
    }

    /// <summary>swiotlb_sync_single_for_device / _for_cpu: the copies a sync of a bounce buffer makes.</summary>
    public bool Sync(BounceDevice dev, ulong tlbAddr, ulong size, DmaDirection dir, bool forCpu)
    {
        var pool = FindPool(tlbAddr);
        if (pool is null) return false;
        bool copies = forCpu ? dir is DmaDirection.FromDevice or DmaDirection.Bidirectional
                             : dir is DmaDirection.ToDevice or DmaDirection.Bidirectional;
        if (copies) Copy(Clamp(pool, dev, tlbAddr, size), toDevice: !forCpu);
        return true;
    }

    /// <summary>swiotlb_bounce clamps a copy to what the slot's allocation holds.</summary>
    private ulong Clamp(SwiotlbPool pool, BounceDevice dev, ulong tlbAddr, ulong size)
    {
        int index = (int)((tlbAddr - pool.Start) >> _k.IoTlbShift);
        var (origAddr, allocSize) = pool.OrigAndAllocSize(index);
        if (origAddr == SwiotlbPool.InvalidPhysAddr) return 0;
        ulong tlbOffset = (tlbAddr & ((ulong)_k.IoTlbSize - 1)) - (origAddr & dev.MinAlignMask & ((ulong)_k.IoTlbSize - 1));
        ulong available = allocSize - tlbOffset;
        return Math.Min(size, available);
    }

    private void Copy(ulong bytes, bool toDevice)
    {
        if (bytes == 0) return;
        BounceCopies++;
        if (toDevice) BytesToDevice += (long)bytes;
        else BytesFromDevice += (long)bytes;
    }

    private SwiotlbPool? FindPool(ulong addr)
    {
        if (DefaultPool.Contains(addr)) return DefaultPool; // pools never overlap: the usual case first
        foreach (var p in _pools)
        {
            if (p.Contains(addr)) return p;
        }
        foreach (var p in _transient)
        {
            if (p.Contains(addr)) return p;
        }
        return null;
    }

    /// <summary>
    /// swiotlb_find_slots. Static (the 6.12 default): areas from cpu &amp; (nareas − 1), each once.
    /// Dynamic: for each cpu offset, every pool newest first; when all fail, a transient pool of
    /// exactly this mapping, and a new default-sized pool for the mappings after it (the kernel
    /// grows in a background worker; here it is there from the next call on). Returns the slot
    /// index or -1; the pool and area come back as out parameters, not a tuple: a tuple holding a
    /// class is built by a call the JIT does not inline, once per bounce.
    /// </summary>
    private int FindSlots(BounceDevice dev, ulong orig, ulong allocSize, ulong allocAlignMask,
        int cpu, Func<ulong, ulong> toDma, ref long steps, out SwiotlbPool? found, out int foundArea)
    {
        found = null;
        foundArea = -1;
        if (!Config.Dynamic)
        {
            var pool = DefaultPool;
            int start = cpu & (pool.Nareas - 1);
            int i = start;
            ulong tblDma = toDma(pool.Start);
            do
            {
                int index = pool.SearchArea(i, orig, allocSize, allocAlignMask, dev.MinAlignMask, dev.SegmentBoundaryMask, tblDma, ref steps);
                if (index >= 0)
                {
                    (found, foundArea) = (pool, i);
                    return index;
                }
                if (++i >= pool.Nareas) i = 0;
            }
            while (i != start);
            return -1;
        }

        if (allocSize > (ulong)_k.IoTlbSegSize << _k.IoTlbShift) return -1;
        for (int off = 0; off < _defaultNareas; off++)
        {
            foreach (var pool in _pools)
            {
                if (off >= pool.Nareas) continue;
                int area = (cpu + off) & (pool.Nareas - 1);
                int index = pool.SearchArea(area, orig, allocSize, allocAlignMask, dev.MinAlignMask, dev.SegmentBoundaryMask, toDma(pool.Start), ref steps);
                if (index >= 0)
                {
                    (found, foundArea) = (pool, area);
                    return index;
                }
            }
        }
        // Growth: addresses of pools the kernel allocates later are not knowable; ours follow the default pool.
        int nslots = (int)((allocSize + (ulong)_k.IoTlbSize - 1) >> _k.IoTlbShift);
        var transient = new SwiotlbPool(NextPoolStart(nslots), nslots, 1, _k, transient: true);
        int t = transient.SearchArea(0, orig, allocSize, allocAlignMask, dev.MinAlignMask, dev.SegmentBoundaryMask, toDma(transient.Start), ref steps);
        if (t < 0) return -1;
        _transient.Add(transient);
        TransientMappings++;
        _pools.Insert(0, new SwiotlbPool(NextPoolStart(_defaultNslabs), _defaultNslabs, _defaultNareas, _k));
        PoolsAdded++;
        (found, foundArea) = (transient, 0);
        return t;
    }

    private ulong NextPoolStart(int nslabs)
    {
        ulong start = _nextPoolStart;
        _nextPoolStart += (ulong)nslabs << _k.IoTlbShift;
        return start;
    }
}
