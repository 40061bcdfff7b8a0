using System.Globalization;
using DmaReplay.Engine.Cost;
using DmaReplay.Engine.Replay;

namespace DmaReplay.Cli.Common;

/// <summary>The cost estimate and the comparison as the console shows them.</summary>
internal static class ConsoleCost
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static void Write(TextWriter stdout, CostReport c)
    {
        stdout.WriteLine(string.Create(Ci, $"cost ({c.Model}): {c.Calls:N0} calls, CPU {c.CpuNs:N0} ns, device page walks {c.DeviceNs:N0} ns"));
        foreach (var o in c.Operations)
        {
            var d = o.Cpu;
            stdout.WriteLine(string.Create(Ci,
                $"  {o.Op,-15} {d.Calls,9:N0} calls  p50 {d.P50Ns,7:N0}  p90 {d.P90Ns,7:N0}  p99 {d.P99Ns,7:N0}  max {d.MaxNs,9:N0}  total {d.TotalNs,13:N0} ns"));
        }
    }

    /// <summary>The totals and IOMMU figures side by side, one column per variant.</summary>
    public static void Write(TextWriter stdout, CompareReport r)
    {
        stdout.WriteLine($"compare: {r.Variants.Count} variants of {r.Input}, one pass over the input");
        var labels = r.Variants.Select(v => v.Label).ToList();
        int width = Math.Max(14, labels.Max(l => l.Length) + 2);
        stdout.WriteLine("  " + "".PadRight(22) + string.Concat(labels.Select(l => l.PadLeft(width))));
        foreach (var row in r.Rows.Where(x => x.Key is null))
        {
            var cells = row.Values.Select(v => v is not { } n ? "-" : row.IsRatio ? Reports.Compare.CompareExporter.Percent(n) : n.ToString("N0", Ci));
            stdout.WriteLine("  " + row.Metric.PadRight(22) + string.Concat(cells.Select(c => c.PadLeft(width))));
        }
    }
}
