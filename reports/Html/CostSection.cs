using System.Globalization;
using System.Text;
using DmaReplay.Engine.Cost;
using DmaReplay.Reports.Tables;

namespace DmaReplay.Reports.Html;

/// <summary>
/// The "Estimated cost" section of report.html (a replay with a cost model): the totals, a chart of
/// each operation's distribution of CPU ns per call on a log scale (min–max line, p50–p90 box, p99
/// tick), the operation, term and device tables, and the model with its sources.
/// </summary>
internal static class CostSection
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(Html html, CostReport cost)
    {
        html.Raw("<section id=\"cost\">\n").Element("h2", "Estimated cost");
        html.Raw("<p>Model <code>").Text(cost.Model).Raw("</code>: ")
            .Text($"{Html.Number(cost.Calls)} calls, {Ns(cost.CpuNs)} of CPU time, {Ns(cost.DeviceNs)} of device-side page walks.")
            .Raw("</p>\n");
        if (cost.Operations.Count > 0)
        {
            html.Element("h3", "CPU time per call");
            html.Raw(Chart(cost.Operations));
        }
        html.Table(CostTables.Operations(cost), "No DMA API calls.");
        html.Raw("<div class=\"cols\">\n<div>\n").Element("h3", "CPU time by term").Table(CostTables.ByTerm(cost))
            .Raw("</div>\n<div>\n").Element("h3", "Model terms").Table(CostTables.Model(cost)).Raw("</div>\n</div>\n");
        html.Element("h3", "Per device").Table(CostTables.Devices(cost), "No device calls.");
        html.Element("h3", "Sources of the model");
        html.Raw("<ul class=\"provenance\">\n");
        foreach (var s in cost.Sources) html.Element("li", s);
        html.Raw("</ul>\n</section>\n");
    }

    /// <summary>"12.3 µs"-style reading of a ns total; the tables keep the exact count.</summary>
    public static string Ns(long ns) => ns switch
    {
        < 10_000 => Html.Number(ns) + " ns",
        < 10_000_000 => (ns / 1000m).ToString("0.0", Inv) + " µs",
        < 10_000_000_000 => (ns / 1_000_000m).ToString("0.0", Inv) + " ms",
        _ => (ns / 1_000_000_000m).ToString("0.00", Inv) + " s",
    };

    private static string F(double v) => v.ToString("0.#", Inv);

    /// <summary>One row per operation on a log10 axis from 1 ns to the largest max.</summary>
    public static string Chart(IReadOnlyList<CostOpReport> ops)
    {
        const double left = 120, width = 520, row = 22, top = 10;
        double maxLog = Math.Max(1, Math.Ceiling(Math.Log10(Math.Max(10, ops.Max(o => o.Cpu.MaxNs)))));
        double X(long ns) => left + width * Math.Log10(Math.Max(1, ns)) / maxLog;
        double height = top + row * ops.Count + 30;
        var svg = new StringBuilder();
        svg.Append("<svg class=\"cost-chart\" role=\"img\" viewBox=\"0 0 ").Append(F(left + width + 20)).Append(' ').Append(F(height))
            .Append("\" width=\"").Append(F(left + width + 20)).Append("\" height=\"").Append(F(height)).Append("\">\n");
        for (int d = 0; d <= (int)maxLog; d++)
        {
            double x = left + width * d / maxLog;
            svg.Append("<line x1=\"").Append(F(x)).Append("\" y1=\"").Append(F(top)).Append("\" x2=\"").Append(F(x)).Append("\" y2=\"")
                .Append(F(height - 24)).Append("\" stroke=\"#d0d7de\"/><text x=\"").Append(F(x)).Append("\" y=\"").Append(F(height - 8))
                .Append("\" font-size=\"11\" text-anchor=\"middle\">").Append(Html.Encode(Ns((long)Math.Pow(10, d)))).Append("</text>\n");
        }
        for (int i = 0; i < ops.Count; i++)
        {
            var c = ops[i].Cpu;
            double y = top + row * i + row / 2;
            svg.Append("<text x=\"").Append(F(left - 6)).Append("\" y=\"").Append(F(y + 4)).Append("\" font-size=\"12\" text-anchor=\"end\">")
                .Append(Html.Encode(ops[i].Op)).Append("</text>\n");
            svg.Append("<line x1=\"").Append(F(X(c.MinNs))).Append("\" y1=\"").Append(F(y)).Append("\" x2=\"").Append(F(X(c.MaxNs)))
                .Append("\" y2=\"").Append(F(y)).Append("\" stroke=\"#3d444d\"/>");
            svg.Append("<rect x=\"").Append(F(X(c.P50Ns))).Append("\" y=\"").Append(F(y - 6)).Append("\" width=\"")
                .Append(F(Math.Max(2, X(c.P90Ns) - X(c.P50Ns)))).Append("\" height=\"12\" fill=\"#4e79a7\"/>");
            svg.Append("<line x1=\"").Append(F(X(c.P99Ns))).Append("\" y1=\"").Append(F(y - 7)).Append("\" x2=\"").Append(F(X(c.P99Ns)))
                .Append("\" y2=\"").Append(F(y + 7)).Append("\" stroke=\"#e15759\" stroke-width=\"2\"/>\n");
        }
        svg.Append("</svg>\n<p class=\"muted\">Line: min to max; box: p50 to p90; red tick: p99 (log scale).</p>\n");
        return svg.ToString();
    }
}
