namespace DmaReplay.Engine.Cost;

/// <summary>A distribution of estimated CPU ns per call: calls, total, min, percentiles (nearest rank, log buckets of 12.5%) and max.</summary>
public sealed record CostDistribution(long Calls, long TotalNs, long MinNs, long P50Ns, long P90Ns, long P99Ns, long MaxNs);

/// <summary>One operation kind: its CPU-time distribution, the device-side time (page walks) and what the stack did for it.</summary>
public sealed record CostOpReport(string Op, CostDistribution Cpu, long DeviceNs, CostCounts Counts);

/// <summary>One device's operations.</summary>
public sealed record CostDeviceReport(string Device, long Calls, long CpuNs, long DeviceNs, IReadOnlyList<CostOpReport> Operations);

/// <summary>
/// The cost estimate of a replay: the model used (name, sources, every term's value), the totals
/// with the CPU time split by term (each term's total rounded to ns), then per operation and per
/// device. The flush-queue timer (<c>fq_timer</c>) is no device's call: it is in the totals and
/// the operations, not under a device.
/// </summary>
public sealed record CostReport(
    string Model,
    IReadOnlyList<string> Sources,
    IReadOnlyList<KeyValuePair<string, double>> Terms,
    long Calls,
    long CpuNs,
    long DeviceNs,
    IReadOnlyList<KeyValuePair<string, long>> CpuNsByTerm,
    IReadOnlyList<CostOpReport> Operations,
    IReadOnlyList<CostDeviceReport> Devices);
