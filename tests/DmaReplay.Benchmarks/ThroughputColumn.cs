using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace DmaReplay.Benchmarks;

/// <summary>
/// Derived columns BenchmarkDotNet cannot print itself: MB/s (10^6 bytes of trace text per second
/// of the mean), ns per event line, and allocated bytes per event line, all over the
/// <see cref="BenchTrace"/> input every benchmark of this project reads once per operation.
/// </summary>
public sealed class ThroughputColumn : IColumn
{
    public enum Metric { MegabytesPerSecond, NanosecondsPerEvent, AllocatedBytesPerEvent, EventsPerSecond }

    private readonly Metric _metric;

    public ThroughputColumn(Metric metric) => _metric = metric;

    public string Id => nameof(ThroughputColumn) + "." + _metric;

    public string ColumnName => _metric switch
    {
        Metric.MegabytesPerSecond => "MB/s",
        Metric.NanosecondsPerEvent => "ns/event",
        Metric.EventsPerSecond => "Mevents/s",
        _ => "B/event",
    };

    public string Legend => _metric switch
    {
        Metric.MegabytesPerSecond => "Trace text throughput: input bytes / mean time, in 10^6 bytes per second",
        Metric.NanosecondsPerEvent => "Mean time / event lines of the input",
        Metric.EventsPerSecond => "Events of the input / mean time, in 10^6 events per second",
        _ => "Allocated bytes per operation / event lines of the input",
    };

    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => (int)_metric;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public bool IsAvailable(Summary summary) => true;
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        var stats = report?.ResultStatistics;
        if (report is null || stats is null) return "NA";
        double meanNs = stats.Mean;
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        switch (_metric)
        {
            case Metric.MegabytesPerSecond:
                return (InputBytes(benchmarkCase) / (meanNs / 1e9) / 1e6).ToString("N1", ci);
            case Metric.NanosecondsPerEvent:
                return (meanNs / InputEvents(benchmarkCase)).ToString("N1", ci);
            case Metric.EventsPerSecond:
                return (InputEvents(benchmarkCase) / (meanNs / 1e9) / 1e6).ToString("N2", ci);
            default:
                long? allocated = report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase);
                return allocated is null ? "NA" : ((double)allocated.Value / InputEvents(benchmarkCase)).ToString("N4", ci);
        }
    }

    public override string ToString() => ColumnName;

    // A benchmark class over another input (the CSV or Parquet form of the trace) says so with
    // static InputBytes and InputEvents properties; the others read BenchTrace.
    private static double InputBytes(BenchmarkCase c) =>
        c.Descriptor.Type.GetProperty("InputBytes")?.GetValue(null) is long n ? n : BenchTrace.Length;

    private static double InputEvents(BenchmarkCase c) =>
        c.Descriptor.Type.GetProperty("InputEvents")?.GetValue(null) is long n ? n : BenchTrace.EventLines;
}
