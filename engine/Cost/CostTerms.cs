using System.Globalization;

namespace DmaReplay.Engine.Cost;

/// <summary>One term of the cost model: its key in the cost file and in <c>--set cost.&lt;key&gt;</c>, its unit and meaning.</summary>
public sealed record CostTerm(string Key, string Unit, string Meaning, Func<CostModel, double> Get, Func<CostModel, double, CostModel> Set);

/// <summary>The terms of <see cref="CostModel"/> by key: the one list the cost file, --set and the reports use.</summary>
public static class CostTerms
{
    public const string SettingPrefix = "cost.";

    public static IReadOnlyList<CostTerm> All { get; } =
    [
        new("dma_direct_map_ns", "ns/call", "dma-direct map (per sg entry)", m => m.DmaDirectMapNs, (m, v) => m with { DmaDirectMapNs = v }),
        new("dma_direct_unmap_ns", "ns/call", "dma-direct unmap (per sg entry)", m => m.DmaDirectUnmapNs, (m, v) => m with { DmaDirectUnmapNs = v }),
        new("iommu_dma_map_ns", "ns/call", "iommu_dma_map_page/_sg without counted terms", m => m.IommuDmaMapNs, (m, v) => m with { IommuDmaMapNs = v }),
        new("iommu_dma_unmap_ns", "ns/call", "iommu_dma_unmap_page/_sg without counted terms", m => m.IommuDmaUnmapNs, (m, v) => m with { IommuDmaUnmapNs = v }),
        new("sg_entry_ns", "ns/entry", "per scatterlist entry of an IOMMU sg map or unmap", m => m.SgEntryNs, (m, v) => m with { SgEntryNs = v }),
        new("sync_ns", "ns/call", "a traced dma_sync_* call", m => m.SyncNs, (m, v) => m with { SyncNs = v }),
        new("alloc_ns", "ns/call", "dma_alloc_attrs without counted terms", m => m.AllocNs, (m, v) => m with { AllocNs = v }),
        new("free_ns", "ns/call", "dma_free_attrs without counted terms", m => m.FreeNs, (m, v) => m with { FreeNs = v }),
        new("iova_rcache_hit_ns", "ns/allocation", "IOVA from the CPU's range cache", m => m.IovaRcacheHitNs, (m, v) => m with { IovaRcacheHitNs = v }),
        new("iova_rcache_miss_ns", "ns/allocation", "IOVA from the rbtree", m => m.IovaRcacheMissNs, (m, v) => m with { IovaRcacheMissNs = v }),
        new("pte_map_ns", "ns/leaf", "IO page-table leaf written", m => m.PteMapNs, (m, v) => m with { PteMapNs = v }),
        new("pte_unmap_ns", "ns/leaf", "IO page-table leaf cleared", m => m.PteUnmapNs, (m, v) => m with { PteUnmapNs = v }),
        new("iotlb_inv_ns", "ns/invalidation", "IOTLB invalidation issued and waited for", m => m.IotlbInvNs, (m, v) => m with { IotlbInvNs = v }),
        new("iotlb_inv_page_ns", "ns/page", "per 4 KiB page an invalidation covers", m => m.IotlbInvPageNs, (m, v) => m with { IotlbInvPageNs = v }),
        new("iotlb_walk_level_ns", "ns/level", "device side: page-table level read after an IOTLB miss", m => m.IotlbWalkLevelNs, (m, v) => m with { IotlbWalkLevelNs = v }),
        new("swiotlb_slot_search_step_ns", "ns/slot", "SWIOTLB slot examined by the search", m => m.SwiotlbSlotSearchStepNs, (m, v) => m with { SwiotlbSlotSearchStepNs = v }),
        new("swiotlb_copy_bytes_per_ns", "bytes/ns", "bounce copy bandwidth", m => m.SwiotlbCopyBytesPerNs, (m, v) => m with { SwiotlbCopyBytesPerNs = v }),
        new("cache_line_ns", "ns/line", "cache line cleaned or invalidated for a non-coherent device", m => m.CacheLineNs, (m, v) => m with { CacheLineNs = v }),
    ];

    public static string Keys => string.Join(", ", All.Select(t => t.Key));

    public static CostTerm? Find(string key) => All.FirstOrDefault(t => t.Key == key);

    public static bool IsCostSetting(string setting) => setting.StartsWith(SettingPrefix, StringComparison.Ordinal);

    /// <summary>Applies <c>cost.&lt;key&gt;=value</c> settings; an unknown key or a value that is not a finite non-negative number is a <see cref="FormatException"/>.</summary>
    public static CostModel Apply(CostModel model, IEnumerable<string> settings)
    {
        var sources = new List<string>(model.Sources);
        foreach (var s in settings)
        {
            int eq = s.IndexOf('=');
            if (eq <= 0) throw new FormatException($"--set takes key=value, not '{s}'");
            string key = s[..eq].Trim(), value = s[(eq + 1)..].Trim();
            var term = Find(key[SettingPrefix.Length..]) ?? throw new FormatException($"unknown cost term '{key}' (cost.<term>, terms: {Keys})");
            model = term.Set(model, Value(value, key, term));
            sources.Add($"{term.Key}={value} from --set");
        }
        return model with { Sources = sources };
    }

    /// <summary>A term's value: finite, not negative, and (for the bandwidth) above zero.</summary>
    public static double Value(string text, string where, CostTerm term)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new FormatException($"{where}: '{text}' is not a number");
        return Check(v, where, term);
    }

    public static double Check(double v, string where, CostTerm term)
    {
        if (v < 0) throw new FormatException($"{where}: a cost cannot be negative ({v.ToString(CultureInfo.InvariantCulture)})");
        if (term.Key == "swiotlb_copy_bytes_per_ns" && v == 0) throw new FormatException($"{where}: the copy bandwidth must be above 0 bytes/ns");
        return v;
    }
}
