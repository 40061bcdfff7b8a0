using System.Globalization;

namespace DmaReplay.Engine.Platform;

/// <summary>
/// "--set key=value" overrides of a platform. Keys: kernel (version profile, e.g. 6.6), cpus, cache_line_bytes, dma.cache_alignment,
/// dma.bounce_unaligned_kmalloc, memory_encryption_mask, swiotlb.force, swiotlb.size (bytes, K/M/G
/// suffixes), swiotlb.nslabs, swiotlb.nareas, swiotlb.start, swiotlb.dynamic, and per device
/// device.&lt;name&gt;.{dma_mask, coherent_dma_mask (bits), bus_dma_limit, min_align_mask,
/// max_segment_size, segment_boundary, coherent, iommu (none|identity|dma|dma-fq), untrusted}, and the
/// IOMMU's iommu.{mode (every device's domain), granule, aperture_end, forcedac, single_flush_queue, flush_timer_late_ms}, and the
/// hardware model's iommu.iotlb (vtd-1024, smmuv3-gem5), iommu.iotlb.entries, iommu.iotlb.ways; the allocation side's
/// coherent_pool, atomic_pool.expand_delay_us, zone_dma_limit, dma.direct_remap, cma.size, global_coherent (BASE,SIZE) and
/// device.&lt;name&gt;.coherent_mem (BASE,SIZE).
/// </summary>
public static class PlatformSettings
{
    /// <summary>Settings of the hardware model only: they change nothing the kernel does, so the platform stays the capture's own.</summary>
    public static bool IsHardwareOnly(string setting) =>
        setting.StartsWith("iommu.iotlb", StringComparison.Ordinal) || setting.StartsWith("iommu.access=", StringComparison.Ordinal);

    public static readonly string[] DeviceKeys =
        ["dma_mask", "coherent_dma_mask", "bus_dma_limit", "min_align_mask", "max_segment_size", "segment_boundary", "coherent", "iommu", "untrusted", "coherent_mem"];

    public static PlatformModel Apply(PlatformModel p, IEnumerable<string> settings)
    {
        var provenance = new List<string>(p.Provenance);
        var devices = p.Devices.ToList();
        var swiotlb = p.Swiotlb;
        foreach (var s in settings)
        {
            int eq = s.IndexOf('=');
            if (eq <= 0) throw new FormatException($"--set takes key=value, not '{s}'");
            string key = s[..eq].Trim(), value = s[(eq + 1)..].Trim();
            switch (key)
            {
                case "cpus": p = p with { Cpus = (int)Number(value, key) }; break;
                case "kernel": p = p with { Kernel = KernelDefaults.ForVersion(value) }; break;
                case "cache_line_bytes" or "cpu.l1_cache_bytes": p = p with { CacheLineBytes = (int)Number(value, key) }; break;
                case "dma.cache_alignment": p = p with { DmaCacheAlignment = (int)Number(value, key) }; break;
                case "dma.bounce_unaligned_kmalloc": p = p with { BounceUnalignedKmalloc = Bool(value, key) }; break;
                case "memory_encryption_mask": p = p with { MemoryEncryptionMask = Number(value, key) }; break;
                case "swiotlb.force": swiotlb = swiotlb with { Force = Bool(value, key) }; break;
                case "swiotlb.dynamic": swiotlb = swiotlb with { Dynamic = Bool(value, key) }; break;
                case "swiotlb.start": swiotlb = swiotlb with { Start = Number(value, key) }; break;
                case "swiotlb.nareas": swiotlb = swiotlb with { Nareas = (int)Number(value, key) }; break;
                case "swiotlb.nslabs": swiotlb = swiotlb with { Nslabs = (int)Number(value, key) }; break;
                case "swiotlb.size": swiotlb = swiotlb with { Nslabs = (int)(Size(value, key) >> p.Kernel.IoTlbShift) }; break;
                case "iommu.granule":
                    ulong g = Size(value, key);
                    if (g == 0 || (g & (g - 1)) != 0 || g > p.Kernel.PageSize) throw new FormatException($"{key}: a power of two up to the page size, not '{value}'");
                    p = p with { Iommu = p.Iommu with { Granule = g } };
                    break;
                case "iommu.aperture_end": p = p with { Iommu = p.Iommu with { ApertureEnd = Number(value, key) } }; break;
                case "iommu.forcedac": p = p with { Iommu = p.Iommu with { ForceDac = Bool(value, key) } }; break;
                case "iommu.single_flush_queue": p = p with { Iommu = p.Iommu with { SingleFlushQueue = Bool(value, key) } }; break;
                case "iommu.mode":
                    // The kernel's default domain for every device (iommu.passthrough=, iommu.strict=): listed and unlisted alike.
                    var mode = Iommu(value, key);
                    for (int d = 0; d < devices.Count; d++) devices[d] = devices[d] with { IommuDomain = mode };
                    p = p with { DefaultIommuDomain = mode };
                    break;
                case "iommu.iotlb": p = p with { Iommu = p.Iommu with { Iotlb = DmaReplay.Engine.Iommu.Hardware.IotlbGeometry.Preset(value) } }; break;
                case "iommu.iotlb.entries": p = p with { Iommu = p.Iommu with { Iotlb = p.Iommu.Iotlb with { Entries = (int)Number(value, key) } } }; break;
                case "iommu.access": p = p with { Iommu = p.Iommu with { DeviceAccess = DmaReplay.Engine.Iommu.Hardware.DeviceAccessNames.Parse(value) } }; break;
                case "iommu.iotlb.ways": p = p with { Iommu = p.Iommu with { Iotlb = p.Iommu.Iotlb with { Ways = (int)Number(value, key) } } }; break;
                case "coherent_pool": p = p with { Allocation = p.Allocation with { AtomicPoolSize = Size(value, key) } }; break;
                case "atomic_pool.expand_delay_us": p = p with { Allocation = p.Allocation with { AtomicPoolExpandDelayNs = (long)Number(value, key) * 1000 } }; break;
                case "zone_dma_limit": p = p with { Allocation = p.Allocation with { ZoneDmaLimit = Number(value, key) } }; break;
                case "dma.direct_remap": p = p with { Allocation = p.Allocation with { DirectRemap = Bool(value, key) } }; break;
                case "cma.size": p = p with { Allocation = p.Allocation with { CmaBytes = Size(value, key) } }; break;
                case "global_coherent": p = p with { Allocation = p.Allocation with { GlobalCoherent = Region(value, key) } }; break;
                case "iommu.flush_timer_late_ms": p = p with { Iommu = p.Iommu with { FlushTimerLateNs = (long)Number(value, key) * 1_000_000 } }; break;
                default:
                    if (!key.StartsWith("device.", StringComparison.Ordinal)) throw new FormatException($"unknown setting '{key}'");
                    int dot = key.LastIndexOf('.');
                    string name = key["device.".Length..dot], prop = key[(dot + 1)..];
                    if (name.Length == 0 || !DeviceKeys.Contains(prop))
                        throw new FormatException($"unknown device setting '{key}' (device.<name>.{{{string.Join(",", DeviceKeys)}}})");
                    int i = devices.FindIndex(d => d.Name == name);
                    var dev = i >= 0 ? devices[i] : DeviceModel.DefaultFor(name, p);
                    dev = SetDevice(dev, prop, value, key);
                    if (i >= 0) devices[i] = dev;
                    else devices.Add(dev);
                    break;
            }
            provenance.Add($"{key}={value} from --set");
        }
        swiotlb = Normalize(swiotlb, p);
        if (p.CacheLineBytes <= 0 || (p.CacheLineBytes & (p.CacheLineBytes - 1)) != 0) throw new FormatException("cache_line_bytes must be a power of two");
        return p with { Devices = devices, Swiotlb = swiotlb, Provenance = provenance };
    }

    /// <summary>The kernel's pool sizing rules: whole segments, at least one per area, a power of two; areas a power of two.</summary>
    public static SwiotlbConfig Normalize(SwiotlbConfig s, PlatformModel p)
    {
        if (s.Nslabs <= 0) return s;
        int seg = p.Kernel.IoTlbSegSize;
        int nareas = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, s.Nareas));
        int nslabs = Math.Max((s.Nslabs + seg - 1) / seg * seg, seg * nareas);
        nslabs = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)nslabs);
        return s with { Nslabs = nslabs, Nareas = nareas };
    }

    private static DeviceModel SetDevice(DeviceModel d, string prop, string value, string key) => prop switch
    {
        "dma_mask" => d with { DmaMaskBits = Bits(value, key) },
        "coherent_dma_mask" => d with { CoherentMaskBits = Bits(value, key) },
        "bus_dma_limit" => d with { BusDmaLimit = Number(value, key) },
        "min_align_mask" => d with { MinAlignMask = Number(value, key) },
        "max_segment_size" => d with { MaxSegmentSize = Number(value, key), SegmentLimitsKnown = true },
        "segment_boundary" => d with { SegmentBoundaryMask = Number(value, key), SegmentLimitsKnown = true },
        "coherent" => d with { Coherent = Bool(value, key) },
        "untrusted" => d with { Untrusted = Bool(value, key) },
        "coherent_mem" => d with { CoherentMem = Region(value, key) },
        _ => d with { IommuDomain = Iommu(value, key) },
    };

    /// <summary>"BASE,SIZE": a coherent memory area at DMA address BASE of SIZE bytes (K/M/G suffixes).</summary>
    public static CoherentRegion Region(string value, string key)
    {
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 2) throw new FormatException($"{key}: BASE,SIZE expected, not '{value}'");
        return new CoherentRegion(Number(parts[0], key), Size(parts[1], key));
    }

    public static IommuDomainType Iommu(string value, string key) => value.ToLowerInvariant() switch
    {
        "none" => IommuDomainType.None,
        "identity" or "passthrough" => IommuDomainType.Identity,
        "dma" or "strict" => IommuDomainType.Dma,
        "dma-fq" or "lazy" => IommuDomainType.DmaFq,
        _ => throw new FormatException($"{key}: '{value}' is not none, identity, dma or dma-fq"),
    };

    public static string IommuName(IommuDomainType t) => t switch
    {
        IommuDomainType.Identity => "identity",
        IommuDomainType.Dma => "dma",
        IommuDomainType.DmaFq => "dma-fq",
        _ => "none",
    };

    private static int Bits(string value, string key)
    {
        ulong n = Number(value, key);
        return n is >= 1 and <= 64 ? (int)n : throw new FormatException($"{key}: a mask is given in bits (1–64), not '{value}'");
    }

    public static ulong Number(string v, string key)
    {
        bool ok = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(v.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong n)
            : ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out n);
        return ok ? n : throw new FormatException($"{key}: '{v}' is not a number");
    }

    /// <summary>Bytes with an optional K, M or G suffix (binary multiples).</summary>
    public static ulong Size(string v, string key)
    {
        if (v.Length == 0) throw new FormatException($"{key}: empty size");
        int shift = char.ToUpperInvariant(v[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, _ => 0 };
        return Number(shift == 0 ? v : v[..^1], key) << shift;
    }

    public static bool Bool(string v, string key) => v.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "on" => true,
        "false" or "0" or "no" or "off" => false,
        _ => throw new FormatException($"{key}: '{v}' is not true or false"),
    };
}
