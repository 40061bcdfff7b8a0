namespace DmaReplay.Engine.Platform;

/// <summary>Ready-made platforms for what-if replays. Devices are those of the capture when it is a bundle.</summary>
public static class PlatformPresets
{
    private const ulong GiB = 1UL << 30;

    public static IReadOnlyDictionary<string, Func<PlatformModel>> All { get; } = new Dictionary<string, Func<PlatformModel>>
    {
        ["x86-64-default"] = X86Default,
        ["x86-64-sev-guest"] = X86SevGuest,
        ["arm64-noncoherent-soc"] = Arm64NonCoherentSoc,
    };

    public static string Names => string.Join(", ", All.Keys);

    /// <summary>A 16 GiB, 8-CPU x86-64 server: coherent DMA, the default 64 MiB SWIOTLB below 4 GiB (RAM reaches above it).</summary>
    public static PlatformModel X86Default() => new()
    {
        Name = "x86-64-default",
        Cpus = 8,
        Ram = [new(0x10_0000, 0xc000_0000), new(0x1_0000_0000, 0x1_0000_0000 + 13 * GiB)],
        Swiotlb = new SwiotlbConfig { Start = 0xbc00_0000, Nslabs = 32768, Nareas = 8 },
        Provenance = ["preset x86-64-default: 16 GiB, 8 CPUs, coherent, default 64 MiB SWIOTLB at 0xbc000000"],
    };

    /// <summary>
    /// An 8 GiB AMD SEV guest: memory is encrypted, so every streaming mapping bounces through the
    /// shared SWIOTLB (force), sized as arch/x86/mm/mem_encrypt.c does: 6% of memory, 64 MiB–1 GiB.
    /// </summary>
    public static PlatformModel X86SevGuest()
    {
        ulong ram = 8 * GiB;
        ulong size = Math.Clamp(ram * 6 / 100, 64UL << 20, GiB);
        var p = new PlatformModel
        {
            Name = "x86-64-sev-guest",
            Cpus = 4,
            Ram = [new(0x10_0000, 0xc000_0000), new(0x1_0000_0000, 0x1_0000_0000 + ram - 3 * GiB)],
            MemoryEncryptionMask = 1UL << 51,
            Provenance = [$"preset x86-64-sev-guest: 8 GiB encrypted guest, swiotlb=force, pool 6% of memory ({size >> 20} MiB)"],
        };
        var swiotlb = PlatformSettings.Normalize(new SwiotlbConfig { Start = 0x8000_0000, Nslabs = (int)(size >> 11), Nareas = 4, Force = true }, p);
        return p with { Swiotlb = swiotlb };
    }

    /// <summary>
    /// A non-coherent arm64 SoC: devices do not snoop caches, 64-byte cache lines (CTR_EL0.CWG and
    /// DminLine, so dma_get_cache_alignment() = cache_line_size() = 64; ARCH_DMA_MINALIGN is 128),
    /// CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC (small kmalloc buffers bounce), 4 GiB of RAM at 1 GiB,
    /// a 64 MiB SWIOTLB.
    /// </summary>
    public static PlatformModel Arm64NonCoherentSoc() => new()
    {
        Name = "arm64-noncoherent-soc",
        Cpus = 8,
        Ram = [new(0x4000_0000, 0x1_4000_0000)],
        CoherentByDefault = false,
        DmaCacheAlignment = 64,
        CacheLineBytes = 64,
        BounceUnalignedKmalloc = true,
        Swiotlb = new SwiotlbConfig { Start = 0xfbc0_0000, Nslabs = 32768, Nareas = 8 },
        Provenance = ["preset arm64-noncoherent-soc: 4 GiB at 1 GiB, 8 CPUs, non-coherent devices, 64-byte cache lines (ARCH_DMA_MINALIGN 128), kmalloc bouncing, 64 MiB SWIOTLB"],
    };

    /// <summary>A preset's machine with the devices of a capture (their masks and drivers are the devices', not the machine's).</summary>
    public static PlatformModel WithDevicesOf(PlatformModel preset, PlatformModel capture) => preset with
    {
        Devices = capture.Devices.Select(d => d with { Coherent = preset.CoherentByDefault, IommuDomain = IommuDomainType.None }).ToList(),
        Provenance = [.. preset.Provenance, $"devices of the capture {capture.Name} (masks, drivers), coherent={preset.CoherentByDefault}, no IOMMU"],
    };
}
