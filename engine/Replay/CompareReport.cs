using DmaReplay.Engine.Summary;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// One figure of a comparison for every variant, in variant order (null where a variant has no
/// such figure, e.g. no IOMMU). <see cref="Key"/> names the device or operation of a per-device
/// or per-operation figure. Ratios are in parts per million (<see cref="IsRatio"/>), so every
/// value is an integer and the output is the same bytes on every machine.
/// </summary>
public sealed record CompareRow(string Section, string Metric, string? Key, IReadOnlyList<long?> Values, bool IsRatio = false);

/// <summary>A variant as the reports name it: label, settings, platform and cost model.</summary>
public sealed record CompareVariantInfo(string Label, IReadOnlyList<string> Settings, string Platform, bool CaptureOwn, string CostModel);

/// <summary>
/// <c>replay --compare</c>: the variants side by side. Sections: "totals" (events, maps, unmaps,
/// failures, mismatches, SWIOTLB bounces and bytes, estimated CPU and device time), "iommu"
/// (summed over the domains: IOVA allocations and where they came from, IOTLB lookups, hits and
/// hit rate, invalidations, page walks, page-table pages, IOVA space peak and fragmentation),
/// "device" and "operation" (the cost distribution per call).
/// </summary>
public sealed record CompareReport(string Input, IReadOnlyList<CompareVariantInfo> Variants, IReadOnlyList<CompareRow> Rows)
{
    public const long Ppm = 1_000_000;

    public static CompareReport Of(string input, IReadOnlyList<CompareVariant> variants, IReadOnlyList<RunSummary> summaries)
    {
        var infos = variants.Select((v, i) =>
        {
            var r = summaries[i].Replay!;
            return new CompareVariantInfo(v.Label, v.Settings, r.Platform.Name, r.Platform.IsCaptureOwn, r.Cost?.Model ?? "");
        }).ToList();
        var rows = new List<CompareRow>();
        void Add(string section, string metric, Func<RunSummary, long?> value, string? key = null, bool ratio = false) =>
            rows.Add(new CompareRow(section, metric, key, summaries.Select(value).ToList(), ratio));

        Add("totals", "events", s => s.TotalEvents);
        Add("totals", "maps", s => s.Devices.Sum(d => d.Maps));
        Add("totals", "unmaps", s => s.Devices.Sum(d => d.Unmaps));
        Add("totals", "mapFailures", s => s.Replay!.Agreement.Failures.Predicted);
        Add("totals", "mismatches", s => s.Replay!.Agreement.MismatchCount);
        Add("totals", "swiotlbBounces", s => s.Replay!.Swiotlb?.BounceCopies);
        Add("totals", "swiotlbBytesCopied", s => s.Replay!.Swiotlb is { } sw ? sw.Bytes.ToDevice + sw.Bytes.FromDevice : null);
        Add("totals", "swiotlbSearchSteps", s => s.Replay!.Swiotlb?.SearchSteps);
        Add("totals", "costCalls", s => s.Replay!.Cost?.Calls);
        Add("totals", "cpuNs", s => s.Replay!.Cost?.CpuNs);
        Add("totals", "deviceNs", s => s.Replay!.Cost?.DeviceNs);

        static IEnumerable<IommuDomainReport> Domains(RunSummary s) => s.Replay!.Iommu?.Domains ?? [];
        static long? Sum(RunSummary s, Func<IommuDomainReport, long> f) => s.Replay!.Iommu is null ? null : Domains(s).Sum(f);
        static long? HwSum(RunSummary s, Func<IommuHardwareReport, long> f) => s.Replay!.Iommu is null ? null : Domains(s).Sum(d => d.Hardware is { } h ? f(h) : 0);
        Add("iommu", "domains", s => s.Replay!.Iommu?.Domains.Count ?? 0);
        Add("iommu", "iovaAllocations", s => Sum(s, d => d.Allocations));
        Add("iommu", "iovaRcacheHits", s => Sum(s, d => d.RcacheHits));
        Add("iommu", "iovaTreeAllocations", s => Sum(s, d => d.TreeAllocations));
        Add("iommu", "iovaFailures", s => Sum(s, d => d.Failures));
        Add("iommu", "iotlbLookups", s => HwSum(s, h => h.Lookups));
        Add("iommu", "iotlbHits", s => HwSum(s, h => h.Hits));
        Add("iommu", "iotlbHitRate", s => Ratio(HwSum(s, h => h.Hits), HwSum(s, h => h.Lookups)), ratio: true);
        Add("iommu", "iotlbMisses", s => HwSum(s, h => h.Misses));
        Add("iommu", "pageWalks", s => HwSum(s, h => h.PageWalks));
        Add("iommu", "walkLevelsRead", s => HwSum(s, h => h.WalkLevelsRead));
        Add("iommu", "invalidations", s => HwSum(s, h => h.Invalidations));
        Add("iommu", "invalidatedPages", s => HwSum(s, h => h.InvalidatedPages));
        Add("iommu", "flushQueueFlushes", s => Sum(s, d => d.TimerFlushes + d.FullQueueFlushes));
        Add("iommu", "pageTablePagesPeak", s => HwSum(s, h => h.PageTablePagesPeak));
        Add("iommu", "iovaPeakMappedBytes", s => Sum(s, d => (long)d.PeakMappedBytes));
        Add("iommu", "iovaPeakHeldBytes", s => Sum(s, d => (long)d.PeakTreeBytes));
        // IOVA space the tree held at its peak beyond what live mappings needed at theirs: size
        // rounding, range-cache magazines and flush-queue entries.
        Add("iommu", "iovaFragmentation", s => Sum(s, d => (long)d.PeakTreeBytes) is { } held and > 0
            ? Ratio(held - Sum(s, d => (long)d.PeakMappedBytes)!.Value, held) : null, ratio: true);

        foreach (var device in summaries.SelectMany(s => s.Devices.Select(d => d.Name)).Distinct().Order(StringComparer.Ordinal))
        {
            Add("device", "maps", s => s.Devices.FirstOrDefault(d => d.Name == device)?.Maps, device);
            Add("device", "unmaps", s => s.Devices.FirstOrDefault(d => d.Name == device)?.Unmaps, device);
            Add("device", "costCalls", s => CostDevice(s, device)?.Calls, device);
            Add("device", "cpuNs", s => CostDevice(s, device)?.CpuNs, device);
            Add("device", "deviceNs", s => CostDevice(s, device)?.DeviceNs, device);
        }
        var ops = Cost.CostOps.AllKeys.Where(op => summaries.Any(s => CostOp(s, op) is not null));
        foreach (var op in ops)
        {
            Add("operation", "calls", s => CostOp(s, op)?.Cpu.Calls, op);
            Add("operation", "totalNs", s => CostOp(s, op)?.Cpu.TotalNs, op);
            Add("operation", "p50Ns", s => CostOp(s, op)?.Cpu.P50Ns, op);
            Add("operation", "p90Ns", s => CostOp(s, op)?.Cpu.P90Ns, op);
            Add("operation", "p99Ns", s => CostOp(s, op)?.Cpu.P99Ns, op);
            Add("operation", "maxNs", s => CostOp(s, op)?.Cpu.MaxNs, op);
            Add("operation", "deviceNs", s => CostOp(s, op)?.DeviceNs, op);
        }
        return new CompareReport(input, infos, rows);
    }

    private static Cost.CostDeviceReport? CostDevice(RunSummary s, string device) =>
        s.Replay!.Cost?.Devices.FirstOrDefault(d => d.Device == device);

    private static Cost.CostOpReport? CostOp(RunSummary s, string op) =>
        s.Replay!.Cost?.Operations.FirstOrDefault(o => o.Op == op);

    /// <summary>part / whole in parts per million, rounded down; null when either is unknown or the whole is 0.</summary>
    public static long? Ratio(long? part, long? whole) =>
        part is { } p && whole is { } w && w > 0 ? (long)((Int128)p * Ppm / w) : null;
}
