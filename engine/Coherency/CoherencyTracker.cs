using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Coherency;

/// <summary>
/// Counts the cache maintenance a replay's non-coherent devices cause, call by call, as
/// dma-direct and arm64 do it (kernel/dma/direct.h, direct.c, arch/arm64/mm/dma-mapping.c):
/// <list type="bullet">
/// <item>map: arch_sync_dma_for_device(phys, size, dir) unless DMA_ATTR_SKIP_CPU_SYNC — on the
/// SWIOTLB slot when bounced (swiotlb_map does it after the copy in), else on the buffer;</item>
/// <item>unmap: unless SKIP_CPU_SYNC, dma_direct_sync_single_for_cpu: arch_sync_dma_for_cpu on
/// dma_to_phys(handle) (the slot when bounced), then the SWIOTLB copy-back;</item>
/// <item>sync_single/sync_sg: for_device after the SWIOTLB copy in, for_cpu before the copy back,
/// per sg entry with its length;</item>
/// <item>dma_alloc_coherent (dma_direct_alloc, DMA_DIRECT_REMAP): PAGE_ALIGN(size) prepared with
/// arch_dma_prep_coherent and remapped uncached when gfp may block; otherwise from the atomic pool,
/// prepared when the pool grew, not per allocation.</item>
/// </list>
/// Coherent devices are not maintained; their syncs the kernel skips are counted (dma_skip_sync).
/// </summary>
/// <remarks>Per event nothing is allocated: counters live in arrays indexed by the interned device id.</remarks>
public sealed class CoherencyTracker(int lineBytes)
{
    private readonly ulong _line = (ulong)lineBytes;
    private Counters[] _ops = new Counters[16 * CoherencyOperations.Count];
    private DeviceCounters[] _devices = new DeviceCounters[16];
    private readonly List<KmallocBounceExample> _examples = [];

    private struct Counters
    {
        public long Calls, NoMaintenance, SkippedByAttr, CleanOps, InvalidateOps, CleanInvalidateOps, Cvac, Ivac, Civac, Bytes;
    }

    private struct DeviceCounters
    {
        public bool Seen, NonCoherent, Bounced;
        public long KmallocBounces, KmallocBytes, Remaps, AtomicPool, SyncsSkipped;
        public SortedDictionary<ulong, long>? Sizes;
    }

    /// <summary>A device the tracker saw do something, and whether it is coherent.</summary>
    private ref DeviceCounters Device(int device, bool coherent)
    {
        if (device >= _devices.Length)
        {
            Array.Resize(ref _devices, Math.Max(device + 1, _devices.Length * 2));
            Array.Resize(ref _ops, _devices.Length * CoherencyOperations.Count);
        }
        ref var d = ref _devices[device];
        d.Seen = true;
        d.NonCoherent = !coherent;
        return ref d;
    }

    /// <summary>arch_sync_dma_for_device or _for_cpu on [phys, phys+size) of a non-coherent device.</summary>
    public void Sync(int device, bool coherent, CoherencyOperation op, ulong phys, ulong size, DmaDirection dir, DmaAttrs attrs)
    {
        if (device < 0) return;
        ref var d = ref Device(device, coherent);
        if (coherent) return;
        ref var c = ref _ops[device * CoherencyOperations.Count + (int)op];
        if ((attrs & DmaAttrs.SkipCpuSync) != 0 && op is CoherencyOperation.Map or CoherencyOperation.Unmap)
        {
            c.SkippedByAttr++;
            return;
        }
        var kind = op is CoherencyOperation.Map or CoherencyOperation.SyncForDevice ? ArchDmaSync.ForDevice(dir) : ArchDmaSync.ForCpu(dir);
        Count(ref c, kind, phys, size);
    }

    /// <summary>dma_direct_alloc on a non-coherent device (DMA_DIRECT_REMAP, no set-uncached: arm64).</summary>
    public void Alloc(int device, bool coherent, ulong phys, ulong size, bool mayBlock, ulong pageSize)
    {
        if (device < 0) return;
        ref var d = ref Device(device, coherent);
        if (coherent) return;
        if (!mayBlock)
        {
            d.AtomicPool++; // dma_direct_use_pool: the atomic pool's pages were prepared when it grew
            return;
        }
        d.Remaps++;
        ulong aligned = (size + pageSize - 1) & ~(pageSize - 1);
        Count(ref _ops[device * CoherencyOperations.Count + (int)CoherencyOperation.Alloc], ArchDmaSync.PrepCoherent, phys, aligned);
    }

    /// <summary>A buffer dma_kmalloc_needs_bounce sent through SWIOTLB.</summary>
    public void KmallocBounce(int device, bool coherent, string input, long line, TraceStrings strings, ulong phys, ulong size, DmaDirection dir)
    {
        if (device < 0) return;
        ref var d = ref Device(device, coherent);
        d.KmallocBounces++;
        d.KmallocBytes += (long)size;
        d.Sizes ??= new SortedDictionary<ulong, long>();
        d.Sizes[size] = d.Sizes.GetValueOrDefault(size) + 1;
        if (_examples.Count < CoherencyReport.MaxExamples)
            _examples.Add(new KmallocBounceExample(input, line, strings.Device(device), phys, size, dir.TraceName()));
    }

    /// <summary>swiotlb_tbl_map_single's dma_reset_need_sync: from the device's first bounce on, its syncs are never skipped.</summary>
    public void Bounced(int device, bool coherent)
    {
        if (device >= 0) Device(device, coherent).Bounced = true;
    }

    /// <summary>
    /// dma_dev_need_sync (6.11+): a direct or dma-iommu device skips the whole dma_sync_* call —
    /// backend, tracepoint and debug hook — while dev->dma_skip_sync is set, i.e. it is coherent and
    /// has not bounced yet (dma_setup_need_sync, dma_reset_need_sync; CONFIG_DMA_API_DEBUG off).
    /// </summary>
    public bool SkipsSync(int device, bool coherent)
    {
        if (device < 0) return false;
        ref var d = ref Device(device, coherent);
        if (!coherent || d.Bounced) return false;
        d.SyncsSkipped++;
        return true;
    }

    /// <summary>Cache lines cleaned or invalidated so far over every device and operation: what the cost model prices per line.</summary>
    public long LinesMaintained { get; private set; }

    private void Count(ref Counters c, MaintenanceKind kind, ulong phys, ulong size)
    {
        c.Calls++;
        if (kind == MaintenanceKind.None)
        {
            c.NoMaintenance++;
            return;
        }
        var lines = ArchDmaSync.Lines(kind, phys, size, _line);
        switch (kind)
        {
            case MaintenanceKind.Clean: c.CleanOps++; break;
            case MaintenanceKind.Invalidate: c.InvalidateOps++; break;
            default: c.CleanInvalidateOps++; break;
        }
        c.Cvac += lines.Clean;
        c.Ivac += lines.Invalidate;
        c.Civac += lines.CleanInvalidate;
        c.Bytes += (long)size;
        LinesMaintained += lines.Total;
    }

    /// <summary>The report, devices in name order; null when no non-coherent device did anything.</summary>
    public CoherencyReport? Report(TraceStrings strings, Platform.PlatformModel platform)
    {
        var devices = new List<CoherencyDeviceReport>();
        for (int i = 0; i < _devices.Length; i++)
        {
            ref var d = ref _devices[i];
            if (!d.Seen || !d.NonCoherent) continue;
            var ops = new CoherencyOperationReport[CoherencyOperations.Count];
            for (int o = 0; o < ops.Length; o++)
            {
                ref var c = ref _ops[i * CoherencyOperations.Count + o];
                ops[o] = new CoherencyOperationReport((CoherencyOperation)o, c.Calls, c.NoMaintenance, c.SkippedByAttr,
                    c.CleanOps, c.InvalidateOps, c.CleanInvalidateOps, c.Cvac, c.Ivac, c.Civac, c.Bytes);
            }
            var sizes = d.Sizes?.Select(kv => new KmallocBounceSize(kv.Key, kv.Value)).ToList() ?? [];
            devices.Add(new CoherencyDeviceReport(strings.Device(i), ops, d.KmallocBounces, d.KmallocBytes, sizes, d.Remaps, d.AtomicPool, d.SyncsSkipped));
        }
        if (devices.Count == 0) return null;
        devices.Sort((a, b) => string.CompareOrdinal(a.Device, b.Device));
        return new CoherencyReport(platform.CacheLineBytes, platform.DmaCacheAlignment, platform.Kernel.Arm64ArchDmaMinalign,
            platform.BounceUnalignedKmalloc, devices, _examples.ToList());
    }
}
