using DmaReplay.Engine.Findings;

namespace DmaReplay.Engine.Checks;

/// <summary>What the checker needs to know about the platform the trace came from.</summary>
/// <param name="L1CacheBytes">L1_CACHE_BYTES: the unit of the active-cacheline tracking.</param>
/// <param name="DmaCacheAlignment">dma_get_cache_alignment(): 1 on x86 (coherent), ARCH_DMA_MINALIGN on arm64.</param>
/// <param name="BounceUnalignedKmalloc">CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC with SWIOTLB active: overlaps are bounced, not reported.</param>
public sealed record CheckPlatform(int L1CacheBytes, int DmaCacheAlignment, bool BounceUnalignedKmalloc)
{
    /// <summary>x86-64: cache alignment 1 &lt; L1_CACHE_BYTES, so dma-debug never reports EEXIST (v6.5+).</summary>
    public static CheckPlatform X86_64 { get; } = new(64, 1, false);

    /// <summary>Per device: dma_get_max_seg_size and dma_get_seg_boundary, when known (unknown: not checked).</summary>
    public IReadOnlyDictionary<string, SegmentLimits> SegmentLimits { get; init; } = new Dictionary<string, SegmentLimits>();

    public bool ReportsCachelineOverlap => DmaCacheAlignment >= L1CacheBytes && !BounceUnalignedKmalloc;

    /// <summary>Whether devices the platform does not list snoop the CPU caches (false on a non-coherent SoC).</summary>
    public bool CoherentByDefault { get; init; } = true;
    /// <summary>dev_is_dma_coherent of the devices the platform lists.</summary>
    public IReadOnlyDictionary<string, bool> DeviceCoherent { get; init; } = new Dictionary<string, bool>();

    /// <summary>dev_is_dma_coherent: on a non-coherent device a shared cache line can corrupt data.</summary>
    public bool IsCoherent(string device) => DeviceCoherent.TryGetValue(device, out bool c) ? c : CoherentByDefault;

    /// <summary>The checker's view of a platform: cache facts, and the segment limits of devices that declare them.</summary>
    public static CheckPlatform From(Platform.PlatformModel p) =>
        new(p.CacheLineBytes, p.DmaCacheAlignment, p.BounceUnalignedKmalloc && p.Swiotlb.Active)
        {
            SegmentLimits = p.Devices.Where(d => d.SegmentLimitsKnown)
                .ToDictionary(d => d.Name, d => new SegmentLimits(d.MaxSegmentSize, d.SegmentBoundaryMask)),
            CoherentByDefault = p.CoherentByDefault,
            DeviceCoherent = p.Devices.GroupBy(d => d.Name).ToDictionary(g => g.Key, g => g.Last().Coherent),
        };
}

public sealed record SegmentLimits(ulong? MaxSegmentSize, ulong? SegmentBoundaryMask);

/// <summary>Which rules run, what is suppressed, and the platform facts.</summary>
public sealed record CheckOptions
{
    public CheckPlatform Platform { get; init; } = CheckPlatform.X86_64;
    public IReadOnlySet<string> EnabledRules { get; init; } = Rules.All.Select(r => r.Id).ToHashSet();
    public SuppressionList Suppressions { get; init; } = SuppressionList.Empty;

    /// <summary>
    /// "--rules" syntax: comma-separated ids, "all", or "-id" to drop one from what came before
    /// (a list starting with "-" starts from all rules).
    /// </summary>
    public static IReadOnlySet<string> ParseRules(string spec)
    {
        var parts = spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var set = parts.Length > 0 && parts[0].StartsWith('-') ? Rules.All.Select(r => r.Id).ToHashSet() : new HashSet<string>();
        foreach (var p in parts)
        {
            bool remove = p.StartsWith('-');
            string id = remove || p.StartsWith('+') ? p[1..] : p;
            if (id == "all")
            {
                if (remove) set.Clear();
                else set.UnionWith(Rules.All.Select(r => r.Id));
                continue;
            }
            if (Rules.Find(id) is null) throw new FormatException($"unknown rule '{id}' (known: {string.Join(", ", Rules.All.Select(r => r.Id))})");
            if (remove) set.Remove(id);
            else set.Add(id);
        }
        return set;
    }

    /// <summary>Parses a --fail-on value.</summary>
    public static Severity? ParseFailOn(string value) => value.ToLowerInvariant() switch
    {
        "error" => Severity.Error,
        "warning" => Severity.Warning,
        "info" => Severity.Info,
        "none" => null,
        _ => throw new FormatException($"--fail-on takes error, warning, info or none, not '{value}'"),
    };
}
