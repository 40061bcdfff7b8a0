using DmaReplay.Engine.Summary;

namespace DmaReplay.Reports.Html;

/// <summary>A <see cref="StepChart"/> of each device's live mappings over one input's time, with a legend of peaks.</summary>
internal static class LiveMappingsChart
{
    public static void Write(Html html, InputSummary input, IReadOnlyList<DeviceSummary> devices)
    {
        var drawn = devices.Where(d => d.LiveMappingsOverTime.Count > 0).ToList();
        var idle = devices.Where(d => d.LiveMappingsOverTime.Count == 0).ToList();
        if (input.FirstTimestampNs is not { } originNs || drawn.Count == 0)
        {
            html.Element("p", "No device mapped memory in this input, so there is nothing to chart.", "muted");
            return;
        }

        var series = drawn.Select((d, i) => new StepSeries(d.Name, d.LiveMappingsOverTime, d.LiveMappingsAtEnd, StepChart.Color(i), StepChart.Dash(i))).ToList();
        html.Raw("<figure class=\"chart\">\n");
        StepChart.Write(html, new StepChartSpec("Live mappings per device over time: " + input.Path, "Live mappings",
            originNs, input.LastTimestampNs ?? originNs, series));
        StepChart.Legend(html, series.Select((s, i) => (s, "peak " + Html.Number(drawn[i].PeakLiveMappings))));
        if (idle.Count > 0)
        {
            html.Raw("<p class=\"muted\">Not drawn, no mappings: ").Text(string.Join(", ", idle.Select(d => d.Name))).Raw("</p>\n");
        }
        html.Raw("</figcaption>\n</figure>\n");
    }
}
