namespace DmaReplay.Engine.Platform;

/// <summary>
/// The machine a trace is replayed on: memory, CPUs, the SWIOTLB pool and every DMA device with
/// the parameters the kernel's DMA layer reads (include/linux/dma-mapping.h, dma-direct.h).
/// Built from a capture bundle, a JSON platform file or a preset, then adjusted with --set.
/// </summary>
public sealed record PlatformModel
{
    public string Name { get; init; } = "custom";
    public int Cpus { get; init; } = 1;
    /// <summary>"System RAM" ranges of /proc/iomem, [Start, End) physical.</summary>
    public IReadOnlyList<MemoryRange> Ram { get; init; } = [];
    /// <summary>True for platforms whose devices snoop CPU caches (x86); false: non-coherent by default.</summary>
    public bool CoherentByDefault { get; init; } = true;
    /// <summary>dma_get_cache_alignment(): 1 on x86; on arm64 cache_line_size() (CTR_EL0.CWG, 64 on most parts; ARCH_DMA_MINALIGN 128 when CWG is 0).</summary>
    public int DmaCacheAlignment { get; init; } = 1;
    /// <summary>L1_CACHE_BYTES (dma-debug's cache-line unit), also the line size the arm64 cache maintenance steps by (CTR_EL0.DminLine).</summary>
    public int CacheLineBytes { get; init; } = 64;
    /// <summary>CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC (arm64): small non-coherent buffers bounce.</summary>
    public bool BounceUnalignedKmalloc { get; init; }
    /// <summary>The memory-encryption bit phys_to_dma() ORs in (AMD SME/SEV "C-bit"); 0 = none.</summary>
    public ulong MemoryEncryptionMask { get; init; }
    public SwiotlbConfig Swiotlb { get; init; } = new();
    /// <summary>The IOMMU that translates the devices whose domain is DMA or DMA-FQ.</summary>
    public IommuConfig Iommu { get; init; } = new();
    public IReadOnlyList<DeviceModel> Devices { get; init; } = [];
    /// <summary>The default domain of devices the platform does not list (iommu.passthrough= / iommu.strict=).</summary>
    public IommuDomainType DefaultIommuDomain { get; init; } = IommuDomainType.None;
    /// <summary>What each value came from (bundle file, preset, inference, --set): shown in the reports.</summary>
    public IReadOnlyList<string> Provenance { get; init; } = [];
    public KernelDefaults Kernel { get; init; } = KernelDefaults.Linux612;
    /// <summary>How coherent allocations are served: atomic pools, zones, remapping, CMA (kernel/dma/pool.c, direct.c).</summary>
    public AllocationConfig Allocation { get; init; } = new();

    /// <summary>force_dma_unencrypted: an encrypted guest (SEV, TDX) shares DMA memory decrypted.</summary>
    public bool Encrypted => MemoryEncryptionMask != 0;

    /// <summary>atomic_pool_size: coherent_pool= when given, else the default from the RAM ranges (standing in for totalram_pages).</summary>
    public ulong AtomicPoolSize => Allocation.AtomicPoolSize ?? DmaReplay.Engine.Pools.AtomicPools.DefaultSize(Ram.Aggregate(0UL, (s, r) => s + r.Size), Kernel);

    /// <summary>has_managed_dma(): RAM below zone_dma_limit.</summary>
    public bool HasDmaZone => Ram.Any(r => r.Start <= Allocation.ZoneDmaLimit);

    /// <summary>The device of that name, or a default PCI device (64-bit masks, coherent per platform).</summary>
    public DeviceModel Device(string name) =>
        Devices.FirstOrDefault(d => d.Name == name) ?? DeviceModel.DefaultFor(name, this);

    /// <summary>Last byte of RAM (for dma_direct_get_required_mask and dma_supported).</summary>
    public ulong RamEnd => Ram.Count == 0 ? 0 : Ram.Max(r => r.End);
}

public readonly record struct MemoryRange(ulong Start, ulong End)
{
    public bool Contains(ulong addr) => addr >= Start && addr < End;
    public ulong Size => End - Start;
}

/// <summary>
/// The allocation side of a platform. <see cref="AtomicPoolExpandDelayNs"/> is DmaReplay's
/// assumption of how soon atomic_pool_work runs after it is scheduled, not a kernel value.
/// </summary>
public sealed record AllocationConfig
{
    /// <summary>coherent_pool= (bytes); null: 128 KiB per GiB of RAM (dma_atomic_pool_init).</summary>
    public ulong? AtomicPoolSize { get; init; }
    /// <summary>zone_dma_limit: the top of ZONE_DMA (x86: 16 MiB − 1; arm64 from the firmware, often 4 GiB − 1).</summary>
    public ulong ZoneDmaLimit { get; init; } = (1UL << 24) - 1;
    /// <summary>CONFIG_DMA_DIRECT_REMAP (arm64, riscv): a non-coherent device's allocation is remapped uncached, so non-blocking ones come from the atomic pools.</summary>
    public bool DirectRemap { get; init; }
    /// <summary>The default CMA area (cma= or CONFIG_CMA_SIZE_MBYTES); 0: none.</summary>
    public ulong CmaBytes { get; init; }
    /// <summary>CONFIG_DMA_GLOBAL_POOL's "linux,dma-default" region: non-coherent devices allocate from it.</summary>
    public CoherentRegion? GlobalCoherent { get; init; }
    public long AtomicPoolExpandDelayNs { get; init; } = DmaReplay.Engine.Pools.AtomicPools.DefaultExpandDelayNs;
}

/// <summary>A coherent memory area (kernel/dma/coherent.c dma_coherent_mem): its first DMA address and size.</summary>
public sealed record CoherentRegion(ulong DeviceBase, ulong Size);

/// <summary>A dma-range offset region (dev->dma_range_map entry).</summary>
public sealed record DmaRange(ulong CpuStart, ulong DmaStart, ulong Size);

public enum IommuDomainType { None, Identity, Dma, DmaFq }

/// <summary>One DMA device: masks, limits, coherency and its IOMMU domain.</summary>
public sealed record DeviceModel
{
    public required string Name { get; init; }
    public string Bus { get; init; } = "pci";
    public string Driver { get; init; } = "";
    /// <summary>*dev->dma_mask as a bit count (dma_mask_bits in sysfs).</summary>
    public int DmaMaskBits { get; init; } = 64;
    public int CoherentMaskBits { get; init; } = 64;
    /// <summary>dev->bus_dma_limit (0 = none).</summary>
    public ulong BusDmaLimit { get; init; }
    public IReadOnlyList<DmaRange> DmaRanges
    {
        get => _dmaRanges;
        init => _dmaRanges = [.. value];
    }

    // An array, not the interface: dma-direct translates through it several times per map.
    private readonly DmaRange[] _dmaRanges = [];

    /// <summary>The dma-range regions as an array, for the per-call translations (phys_to_dma, dma_to_phys).</summary>
    internal ReadOnlySpan<DmaRange> DmaRangeSpan => _dmaRanges;
    public bool Coherent { get; init; } = true;
    /// <summary>dma_get_min_align_mask(): low address bits SWIOTLB must preserve (NVMe: 4095).</summary>
    public ulong MinAlignMask { get; init; }
    public ulong MaxSegmentSize { get; init; } = 65536;
    public ulong SegmentBoundaryMask { get; init; } = 0xffff_ffff;
    public IommuDomainType IommuDomain { get; init; } = IommuDomainType.None;
    public int? IommuGroup { get; init; }
    /// <summary>The reserved regions of the device's IOMMU group (sysfs reserved_regions): kept out of its IOVA space.</summary>
    public IReadOnlyList<IommuRegion> IommuReserved { get; init; } = [];
    /// <summary>Untrusted (external-facing) devices bounce unaligned buffers through SWIOTLB under an IOMMU.</summary>
    public bool Untrusted { get; init; }
    /// <summary>The segment limits were given (driver table, platform file, --set), not just the PCI defaults: the sg segment rules check them.</summary>
    public bool SegmentLimitsKnown { get; init; }
    /// <summary>The device's own coherent memory (DT "shared-dma-pool", dma_declare_coherent_memory): every dma_alloc_coherent is served from it.</summary>
    public CoherentRegion? CoherentMem { get; init; }

    public ulong DmaMask => Mask(DmaMaskBits);
    public ulong CoherentMask => Mask(CoherentMaskBits);

    public static ulong Mask(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;

    public static DeviceModel DefaultFor(string name, PlatformModel platform) => new()
    {
        Name = name,
        Bus = name.Length == 12 && name[4] == ':' && name[7] == ':' ? "pci" : "platform",
        Coherent = platform.CoherentByDefault,
        IommuDomain = platform.DefaultIommuDomain,
    };
}

/// <summary>An IOMMU reserved region or host-bridge window, [Start, End] inclusive as sysfs prints it.</summary>
public sealed record IommuRegion(ulong Start, ulong End, string Type);

/// <summary>
/// The IOMMU and how dma-iommu sets up a translated device's domain (drivers/iommu/dma-iommu.c
/// iommu_dma_init_domain, iommu_dma_alloc_iova, iova_reserve_iommu_regions).
/// </summary>
public sealed record IommuConfig
{
    /// <summary>IOVA granule: the smallest page size of the domain's pgsize_bitmap (VT-d, AMD-Vi: 4 KiB).</summary>
    public ulong Granule { get; init; } = 4096;
    /// <summary>domain->geometry.aperture_start; IOVA page 0 is never handed out either way (base_pfn ≥ 1).</summary>
    public ulong ApertureStart { get; init; }
    /// <summary>domain->geometry.aperture_end (force_aperture): VT-d 2^gaw − 1, from dmesg "DMAR: Host address width".</summary>
    public ulong ApertureEnd { get; init; } = (1UL << 48) - 1;
    /// <summary>iommu.forcedac=1: PCI devices skip the 32-bit-first attempt.</summary>
    public bool ForceDac { get; init; }
    /// <summary>dev->iommu->shadow_on_flush (s390, virtio-iommu): one global flush queue instead of per-CPU ones.</summary>
    public bool SingleFlushQueue { get; init; }
    /// <summary>"msi" regions are software-managed (IOMMU_RESV_SW_MSI, ARM SMMU) and not reserved; x86 has hardware MSI windows.</summary>
    public bool SoftwareMsi { get; init; }
    /// <summary>The PCI host bridge's memory windows (bus addresses): reserved in the IOVA space of every PCI device (iova_reserve_pci_windows).</summary>
    public IReadOnlyList<IommuRegion> HostBridgeWindows { get; init; } = [];
    /// <summary>Where a jiffy tick falls on the trace clock (ns modulo the tick): the flush-queue timer fires on ticks.</summary>
    public long TickPhaseNs { get; init; }
    /// <summary>
    /// How late the flush-queue timer runs after its expiry tick (0 on hardware). Under QEMU TCG
    /// the guest's ticks arrive late by milliseconds; replays of such captures also let the
    /// kernel's IOVAs witness an earlier run.
    /// </summary>
    public long FlushTimerLateNs { get; init; }
    /// <summary>The IOTLB of the hardware model (iommu.iotlb, iommu.iotlb.entries, iommu.iotlb.ways); it changes no address.</summary>
    public DmaReplay.Engine.Iommu.Hardware.IotlbGeometry Iotlb { get; init; } = DmaReplay.Engine.Iommu.Hardware.IotlbGeometry.Vtd1024;
    /// <summary>When the modelled devices touch their mappings (iommu.access); it changes no address.</summary>
    public DmaReplay.Engine.Iommu.Hardware.DeviceAccess DeviceAccess { get; init; }
}

/// <summary>The SWIOTLB configuration (kernel/dma/swiotlb.c io_tlb_mem / io_tlb_pool).</summary>
public sealed record SwiotlbConfig
{
    /// <summary>Physical address of slot 0; null when unknown (to be inferred from the trace).</summary>
    public ulong? Start { get; init; }
    /// <summary>Slots of the default pool (0 = no SWIOTLB).</summary>
    public int Nslabs { get; init; }
    public int Nareas { get; init; } = 1;
    /// <summary>swiotlb=force: every streaming mapping bounces.</summary>
    public bool Force { get; init; }
    /// <summary>CONFIG_SWIOTLB_DYNAMIC: pools grow and transient pools serve what the default cannot.</summary>
    public bool Dynamic { get; init; }

    public bool Active => Nslabs > 0;
    public int AreaNslabs => Nareas == 0 ? 0 : Nslabs / Nareas;
    public ulong SizeBytes(KernelDefaults k) => (ulong)Nslabs << k.IoTlbShift;
}
