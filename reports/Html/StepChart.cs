using System.Globalization;
using System.Text;
using DmaReplay.Engine.Summary;

namespace DmaReplay.Reports.Html;

/// <summary>One line of a <see cref="StepChart"/>: a level over time, drawn as steps.</summary>
/// <param name="EndLevel">The level at the end of the trace, held from the last bucket to the end;
/// null when unknown, and the line stops after its last bucket.</param>
/// <param name="Lowest">Draw each bucket's lowest level instead of its peak (for a level whose dips matter).</param>
internal sealed record StepSeries(string Name, IReadOnlyList<SeriesPoint> Points, long? EndLevel, string Color, string Dash = "", bool Lowest = false)
{
    public long Level(SeriesPoint p) => Lowest ? p.Min : p.Max;
}

/// <summary>A horizontal reference line, e.g. the pool's capacity.</summary>
internal sealed record ReferenceLine(long Level, string Label);

/// <summary>What a <see cref="StepChart"/> draws: time from <paramref name="OriginNs"/> to at least <paramref name="EndNs"/>.</summary>
internal sealed record StepChartSpec(
    string Title, string YLabel, long OriginNs, long EndNs, IReadOnlyList<StepSeries> Series,
    IReadOnlyList<ReferenceLine>? References = null, int Width = 960, int Height = 320, int YTicks = 5);

/// <summary>
/// An inline SVG step chart of levels over one input's time (live mappings, SWIOTLB slots). Each
/// series point is a bucket (start time, peak level within it), so a step per bucket shows the
/// peaks exactly; after the last bucket the line holds the level at the end of the trace.
/// Tick values use decimal arithmetic so labels never show binary rounding noise.
/// </summary>
internal static class StepChart
{
    private const int Left = 64, Right = 24, Top = 16, Bottom = 52;
    private const decimal NsPerSecond = 1_000_000_000m;
    private const string ReferenceColor = "#b42318", ReferenceDash = "4 4";

    // Tableau 10: distinct and legible on white; past ten series the dash pattern tells them apart.
    private static readonly string[] Colors =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
    private static readonly string[] Dashes = ["", "7 4", "2 3", "9 3 2 3"];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The i-th series' colour.</summary>
    public static string Color(int i) => Colors[i % Colors.Length];

    /// <summary>The i-th series' dash pattern ("" for solid): a new pattern each time the colours run out.</summary>
    public static string Dash(int i) => Dashes[i / Colors.Length % Dashes.Length];

    /// <summary>Writes the &lt;svg&gt; element; the caller wraps it in a figure with its legend.</summary>
    public static void Write(Html html, StepChartSpec spec)
    {
        var drawn = spec.Series.Where(s => s.Points.Count > 0).ToList();
        var references = spec.References ?? [];
        int plotWidth = spec.Width - Left - Right, plotHeight = spec.Height - Top - Bottom;
        long originNs = spec.OriginNs;
        long endNs = drawn.Count == 0 ? spec.EndNs : Math.Max(spec.EndNs, drawn.Max(s => s.Points[^1].TimeNs));
        // A trace whose events share one timestamp still gets a readable (one second) axis.
        decimal spanSeconds = endNs > originNs ? (endNs - originNs) / NsPerSecond : 1m;
        long peak = Math.Max(1, drawn.Select(s => Math.Max(s.Points.Max(s.Level), s.EndLevel ?? 0))
            .Concat(references.Select(r => r.Level)).DefaultIfEmpty(0).Max());
        var xAxis = Axis.For(spanSeconds, 8, integers: false);
        var yAxis = Axis.For(peak, spec.YTicks, integers: true);
        decimal yMax = yAxis.Ticks[^1];

        double X(long ns) => Left + (double)(Math.Max(0, ns - originNs) / NsPerSecond / spanSeconds) * plotWidth;
        double XSeconds(decimal s) => Left + (double)(s / spanSeconds) * plotWidth;
        double Y(decimal v) => Top + plotHeight - (double)(v / yMax) * plotHeight;

        var svg = new StringBuilder();
        svg.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").Append(F(spec.Width)).Append(' ').Append(F(spec.Height))
            .Append("\" role=\"img\">\n<title>").Append(Html.Encode(spec.Title)).Append("</title>\n");

        // Grid and y ticks.
        svg.Append("<g class=\"grid\">\n");
        foreach (var t in yAxis.Ticks)
        {
            string y = F(Y(t));
            svg.Append("<line x1=\"").Append(F(Left)).Append("\" y1=\"").Append(y).Append("\" x2=\"").Append(F(Left + plotWidth))
                .Append("\" y2=\"").Append(y).Append("\"/>\n");
        }
        svg.Append("</g>\n<g class=\"ticks\">\n");
        foreach (var t in yAxis.Ticks)
        {
            svg.Append("<text x=\"").Append(F(Left - 8)).Append("\" y=\"").Append(F(Y(t) + 4)).Append("\" text-anchor=\"end\">")
                .Append(yAxis.Label(t)).Append("</text>\n");
        }
        foreach (var t in xAxis.Ticks.Where(t => t <= spanSeconds))
        {
            string x = F(XSeconds(t));
            svg.Append("<line x1=\"").Append(x).Append("\" y1=\"").Append(F(Top + plotHeight)).Append("\" x2=\"").Append(x)
                .Append("\" y2=\"").Append(F(Top + plotHeight + 5)).Append("\"/>\n")
                .Append("<text x=\"").Append(x).Append("\" y=\"").Append(F(Top + plotHeight + 19)).Append("\" text-anchor=\"middle\">")
                .Append(xAxis.Label(t)).Append("</text>\n");
        }
        svg.Append("</g>\n<g class=\"axes\"><path d=\"M").Append(F(Left)).Append(' ').Append(F(Top)).Append("V").Append(F(Top + plotHeight))
            .Append("H").Append(F(Left + plotWidth)).Append("\"/></g>\n")
            .Append("<text class=\"axis-label\" x=\"").Append(F(Left + plotWidth / 2)).Append("\" y=\"").Append(F(spec.Height - 8))
            .Append("\" text-anchor=\"middle\">Time since the first event of the input (s)</text>\n")
            .Append("<text class=\"axis-label\" transform=\"rotate(-90)\" x=\"").Append(F(-(Top + plotHeight / 2))).Append("\" y=\"16\" text-anchor=\"middle\">")
            .Append(Html.Encode(spec.YLabel)).Append("</text>\n");

        if (references.Count > 0)
        {
            svg.Append("<g class=\"references\">\n");
            foreach (var r in references)
            {
                string y = F(Y(r.Level));
                svg.Append("<line x1=\"").Append(F(Left)).Append("\" y1=\"").Append(y).Append("\" x2=\"").Append(F(Left + plotWidth))
                    .Append("\" y2=\"").Append(y).Append("\" stroke=\"").Append(ReferenceColor).Append("\" stroke-width=\"1.2\" stroke-dasharray=\"").Append(ReferenceDash).Append("\"/>\n")
                    .Append("<text x=\"").Append(F(Left + plotWidth - 4)).Append("\" y=\"").Append(F(Y(r.Level) - 5))
                    .Append("\" text-anchor=\"end\" style=\"fill:").Append(ReferenceColor).Append("\">").Append(Html.Encode(r.Label)).Append("</text>\n");
            }
            svg.Append("</g>\n");
        }

        // Series, one path each.
        svg.Append("<g class=\"series\">\n");
        foreach (var s in drawn)
        {
            var points = s.Points;
            var path = new StringBuilder();
            path.Append('M').Append(F(X(points[0].TimeNs))).Append(' ').Append(F(Y(s.Level(points[0]))));
            for (int p = 1; p < points.Count; p++)
            {
                path.Append('H').Append(F(X(points[p].TimeNs)));
                if (s.Level(points[p]) != s.Level(points[p - 1])) path.Append('V').Append(F(Y(s.Level(points[p]))));
            }
            // The last bucket is as wide as the others; one point alone gets a visible marker instead.
            var last = points[^1];
            long lastEnd = points.Count >= 2 ? Math.Min(endNs, last.TimeNs + (last.TimeNs - points[^2].TimeNs)) : last.TimeNs;
            if (lastEnd > last.TimeNs) path.Append('H').Append(F(X(lastEnd)));
            if (s.EndLevel is { } end)
            {
                if (end != s.Level(last)) path.Append('V').Append(F(Y(end)));
                path.Append('H').Append(F(X(endNs)));
            }

            svg.Append("<path d=\"").Append(path).Append("\" stroke=\"").Append(s.Color).Append('"').Append(DashAttribute(s.Dash))
                .Append("><title>").Append(Html.Encode(s.Name)).Append("</title></path>\n");
            if (points.Count == 1)
            {
                svg.Append("<circle cx=\"").Append(F(X(last.TimeNs))).Append("\" cy=\"").Append(F(Y(s.Level(last))))
                    .Append("\" r=\"3.5\" fill=\"").Append(s.Color).Append("\"/>\n");
            }
        }
        svg.Append("</g>\n</svg>\n");
        html.Raw(svg.ToString());
    }

    /// <summary>
    /// Opens the legend (&lt;figcaption&gt;) with one entry per series (its swatch, its name and its
    /// note), then one per reference line; the caller closes the figcaption.
    /// </summary>
    public static void Legend(Html html, IEnumerable<(StepSeries Series, string Note)> entries,
        IEnumerable<(ReferenceLine Line, string Note)>? references = null)
    {
        html.Raw("<figcaption><ul class=\"legend\">\n");
        foreach (var (s, note) in entries) LegendEntry(html, s.Color, s.Dash, s.Name, note);
        foreach (var (r, note) in references ?? []) LegendEntry(html, ReferenceColor, ReferenceDash, r.Label, note);
        html.Raw("</ul>\n");
    }

    private static void LegendEntry(Html html, string color, string dash, string name, string note) =>
        html.Raw("<li><svg class=\"swatch\" viewBox=\"0 0 24 10\" aria-hidden=\"true\"><line x1=\"1\" y1=\"5\" x2=\"23\" y2=\"5\" stroke=\"")
            .Raw(color).Raw("\"").Raw(DashAttribute(dash)).Raw("/></svg>")
            .Raw("<span class=\"name\">").Text(name).Raw("</span> <span class=\"muted\">").Text(note).Raw("</span></li>\n");

    private static string DashAttribute(string dash) => dash.Length == 0 ? "" : " stroke-dasharray=\"" + dash + "\"";

    private static string F(double v) => v.ToString("0.##", Inv);

    /// <summary>Ticks at 1, 2 or 5 times a power of ten, from 0 to at least the maximum.</summary>
    private sealed record Axis(IReadOnlyList<decimal> Ticks, int Decimals)
    {
        public static Axis For(decimal max, int target, bool integers)
        {
            decimal raw = max / target;
            decimal power = 1m;
            while (power * 10 <= raw) power *= 10;
            while (power > raw && !(integers && power == 1m)) power /= 10;
            decimal fraction = raw / power;
            decimal step = power * (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10);
            int decimals = 0;
            for (decimal s = step; s != decimal.Truncate(s); s *= 10) decimals++;
            var ticks = new List<decimal>();
            for (decimal t = 0; ; t += step)
            {
                ticks.Add(t);
                if (t >= max) break;
            }
            return new Axis(ticks, decimals);
        }

        public string Label(decimal value) => value.ToString(Decimals == 0 ? "#,0" : "F" + Decimals, Inv);
    }
}
