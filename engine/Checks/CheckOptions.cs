using System.Globalization;
using System.Text.RegularExpressions;
using DmaReplay.Engine.Findings;

namespace DmaReplay.Engine.Checks;

/// <summary>What the checker needs to know about the platform the trace came from.</summary>
/// <param name="L1CacheBytes">L1_CACHE_BYTES: the unit of the active-cacheline tracking.</param>
/// <param name="DmaCacheAlignment">dma_get_cache_alignment(): 1 on x86 (coherent), ARCH_DMA_MINALIGN-derived on arm64.</param>
/// <param name="BounceUnalignedKmalloc">CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC with SWIOTLB active: overlaps are bounced, not reported.</param>
public sealed record CheckPlatform(int L1CacheBytes, int DmaCacheAlignment, bool BounceUnalignedKmalloc)
{
    /// <summary>x86-64: cache alignment 1 &lt; L1_CACHE_BYTES, so dma-debug never reports EEXIST (v6.5+).</summary>
    public static CheckPlatform X86_64 { get; } = new(64, 1, false);

    /// <summary>A non-coherent arm64 SoC without kmalloc bouncing: overlaps corrupt data and are reported.</summary>
    public static CheckPlatform Arm64NonCoherent { get; } = new(64, 64, false);

    public static IReadOnlyDictionary<string, CheckPlatform> Presets { get; } = new Dictionary<string, CheckPlatform>
    {
        ["x86-64-default"] = X86_64,
        ["arm64-noncoherent-soc"] = Arm64NonCoherent,
    };

    /// <summary>Per device: dma_get_max_seg_size and dma_get_seg_boundary, when known (unknown: not checked).</summary>
    public IReadOnlyDictionary<string, SegmentLimits> SegmentLimits { get; init; } = new Dictionary<string, SegmentLimits>();

    public bool ReportsCachelineOverlap => DmaCacheAlignment >= L1CacheBytes && !BounceUnalignedKmalloc;
}

public sealed record SegmentLimits(ulong? MaxSegmentSize, ulong? SegmentBoundaryMask);

/// <summary>Which rules run, what is suppressed, and the platform facts.</summary>
public sealed partial record CheckOptions
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

    /// <summary>Applies "--set key=value" settings the checker understands.</summary>
    public static CheckPlatform ApplySettings(CheckPlatform platform, IEnumerable<string> settings)
    {
        var limits = new Dictionary<string, SegmentLimits>(platform.SegmentLimits);
        foreach (var s in settings)
        {
            int eq = s.IndexOf('=');
            if (eq <= 0) throw new FormatException($"--set takes key=value, not '{s}'");
            string key = s[..eq].Trim(), value = s[(eq + 1)..].Trim();
            switch (key)
            {
                case "cpu.l1_cache_bytes": platform = platform with { L1CacheBytes = (int)ParseSize(value, key) }; break;
                case "dma.cache_alignment": platform = platform with { DmaCacheAlignment = (int)ParseSize(value, key) }; break;
                case "dma.bounce_unaligned_kmalloc": platform = platform with { BounceUnalignedKmalloc = ParseBool(value, key) }; break;
                default:
                    var m = DeviceKey().Match(key);
                    if (!m.Success) throw new FormatException($"unknown setting '{key}'");
                    string dev = m.Groups[1].Value;
                    var cur = limits.GetValueOrDefault(dev) ?? new SegmentLimits(null, null);
                    limits[dev] = m.Groups[2].Value == "max_segment_size"
                        ? cur with { MaxSegmentSize = ParseSize(value, key) }
                        : cur with { SegmentBoundaryMask = ParseSize(value, key) };
                    break;
            }
        }
        if (platform.L1CacheBytes <= 0 || (platform.L1CacheBytes & (platform.L1CacheBytes - 1)) != 0)
            throw new FormatException("cpu.l1_cache_bytes must be a power of two");
        return platform with { SegmentLimits = limits };
    }

    private static ulong ParseSize(string v, string key)
    {
        bool ok = v.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(v.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong n)
            : ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out n);
        return ok ? n : throw new FormatException($"{key}: '{v}' is not a number");
    }

    private static bool ParseBool(string v, string key) => v switch
    {
        "true" or "1" or "yes" => true,
        "false" or "0" or "no" => false,
        _ => throw new FormatException($"{key}: '{v}' is not true or false"),
    };

    [GeneratedRegex(@"^device\.(.+)\.(max_segment_size|segment_boundary)$")]
    private static partial Regex DeviceKey();
}
