using System.Globalization;
using System.Text;
using DmaReplay.Engine.Summary;

namespace DmaReplay.Reports.Html;

/// <summary>
/// An inline SVG step chart of each device's live mappings over one input's time. Each series
/// point is a bucket (start time, peak level within it), so a step per bucket shows the peaks
/// exactly; after the last bucket the line holds the level at the end of the trace.
/// Tick values use decimal arithmetic so labels never show binary rounding noise.
/// </summary>
internal static class LiveMappingsChart
{
    private const int Width = 960, Height = 320;
    private const int Left = 64, Right = 24, Top = 16, Bottom = 52;
    private const int PlotWidth = Width - Left - Right, PlotHeight = Height - Top - Bottom;
    private const decimal NsPerSecond = 1_000_000_000m;

    // Tableau 10: distinct and legible on white; past ten devices the dash pattern tells them apart.
    private static readonly string[] Colors =
        ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
    private static readonly string[] Dashes = ["", "7 4", "2 3", "9 3 2 3"];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(Html html, InputSummary input, IReadOnlyList<DeviceSummary> devices)
    {
        var drawn = devices.Where(d => d.LiveMappingsOverTime.Count > 0).ToList();
        var idle = devices.Where(d => d.LiveMappingsOverTime.Count == 0).ToList();
        if (input.FirstTimestampNs is not { } originNs || drawn.Count == 0)
        {
            html.Element("p", "No device mapped memory in this input, so there is nothing to chart.", "muted");
            return;
        }

        long endNs = Math.Max(input.LastTimestampNs ?? originNs, drawn.Max(d => d.LiveMappingsOverTime[^1].TimeNs));
        // A trace whose events share one timestamp still gets a readable (one second) axis.
        decimal spanSeconds = endNs > originNs ? (endNs - originNs) / NsPerSecond : 1m;
        long peak = Math.Max(1, drawn.Max(d => Math.Max(d.LiveMappingsOverTime.Max(p => p.Max), d.LiveMappingsAtEnd)));
        var xAxis = Axis.For(spanSeconds, 8, integers: false);
        var yAxis = Axis.For(peak, 5, integers: true);
        decimal yMax = yAxis.Ticks[^1];

        double X(long ns) => Left + (double)(Math.Max(0, ns - originNs) / NsPerSecond / spanSeconds) * PlotWidth;
        double XSeconds(decimal s) => Left + (double)(s / spanSeconds) * PlotWidth;
        double Y(decimal v) => Top + PlotHeight - (double)(v / yMax) * PlotHeight;

        var svg = new StringBuilder();
        svg.Append("<figure class=\"chart\">\n")
            .Append("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").Append(F(Width)).Append(' ').Append(F(Height))
            .Append("\" role=\"img\">\n<title>").Append(Html.Encode("Live mappings per device over time: " + input.Path)).Append("</title>\n");

        // Grid and y ticks.
        svg.Append("<g class=\"grid\">\n");
        foreach (var t in yAxis.Ticks)
        {
            string y = F(Y(t));
            svg.Append("<line x1=\"").Append(F(Left)).Append("\" y1=\"").Append(y).Append("\" x2=\"").Append(F(Left + PlotWidth))
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
            svg.Append("<line x1=\"").Append(x).Append("\" y1=\"").Append(F(Top + PlotHeight)).Append("\" x2=\"").Append(x)
                .Append("\" y2=\"").Append(F(Top + PlotHeight + 5)).Append("\"/>\n")
                .Append("<text x=\"").Append(x).Append("\" y=\"").Append(F(Top + PlotHeight + 19)).Append("\" text-anchor=\"middle\">")
                .Append(xAxis.Label(t)).Append("</text>\n");
        }
        svg.Append("</g>\n<g class=\"axes\"><path d=\"M").Append(F(Left)).Append(' ').Append(F(Top)).Append("V").Append(F(Top + PlotHeight))
            .Append("H").Append(F(Left + PlotWidth)).Append("\"/></g>\n")
            .Append("<text class=\"axis-label\" x=\"").Append(F(Left + PlotWidth / 2)).Append("\" y=\"").Append(F(Height - 8))
            .Append("\" text-anchor=\"middle\">Time since the first event of the input (s)</text>\n")
            .Append("<text class=\"axis-label\" transform=\"rotate(-90)\" x=\"").Append(F(-(Top + PlotHeight / 2))).Append("\" y=\"16\" text-anchor=\"middle\">Live mappings</text>\n");

        // Series, one path each.
        svg.Append("<g class=\"series\">\n");
        for (int i = 0; i < drawn.Count; i++)
        {
            var d = drawn[i];
            var points = d.LiveMappingsOverTime;
            var path = new StringBuilder();
            path.Append('M').Append(F(X(points[0].TimeNs))).Append(' ').Append(F(Y(points[0].Max)));
            for (int p = 1; p < points.Count; p++)
            {
                path.Append('H').Append(F(X(points[p].TimeNs)));
                if (points[p].Max != points[p - 1].Max) path.Append('V').Append(F(Y(points[p].Max)));
            }
            // The last bucket is as wide as the others; one point alone gets a visible marker instead.
            var last = points[^1];
            long lastEnd = points.Count >= 2 ? Math.Min(endNs, last.TimeNs + (last.TimeNs - points[^2].TimeNs)) : last.TimeNs;
            if (lastEnd > last.TimeNs) path.Append('H').Append(F(X(lastEnd)));
            if (d.LiveMappingsAtEnd != last.Max) path.Append('V').Append(F(Y(d.LiveMappingsAtEnd)));
            path.Append('H').Append(F(X(endNs)));

            svg.Append("<path d=\"").Append(path).Append("\" stroke=\"").Append(Color(i)).Append('"').Append(DashAttribute(i))
                .Append("><title>").Append(Html.Encode(d.Name)).Append("</title></path>\n");
            if (points.Count == 1)
            {
                svg.Append("<circle cx=\"").Append(F(X(last.TimeNs))).Append("\" cy=\"").Append(F(Y(last.Max)))
                    .Append("\" r=\"3.5\" fill=\"").Append(Color(i)).Append("\"/>\n");
            }
        }
        svg.Append("</g>\n</svg>\n");
        html.Raw(svg.ToString());

        html.Raw("<figcaption><ul class=\"legend\">\n");
        for (int i = 0; i < drawn.Count; i++)
        {
            html.Raw("<li><svg class=\"swatch\" viewBox=\"0 0 24 10\" aria-hidden=\"true\"><line x1=\"1\" y1=\"5\" x2=\"23\" y2=\"5\" stroke=\"")
                .Raw(Color(i)).Raw("\"").Raw(DashAttribute(i)).Raw("/></svg>")
                .Raw("<span class=\"name\">").Text(drawn[i].Name).Raw("</span> <span class=\"muted\">peak ")
                .Raw(Html.Number(drawn[i].PeakLiveMappings)).Raw("</span></li>\n");
        }
        html.Raw("</ul>\n");
        if (idle.Count > 0)
        {
            html.Raw("<p class=\"muted\">Not drawn, no mappings: ").Text(string.Join(", ", idle.Select(d => d.Name))).Raw("</p>\n");
        }
        html.Raw("</figcaption>\n</figure>\n");
    }

    private static string Color(int i) => Colors[i % Colors.Length];

    private static string DashAttribute(int i)
    {
        string dash = Dashes[i / Colors.Length % Dashes.Length];
        return dash.Length == 0 ? "" : " stroke-dasharray=\"" + dash + "\"";
    }

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
