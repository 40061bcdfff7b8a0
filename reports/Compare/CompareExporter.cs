using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CsvHelper;
using DmaReplay.Engine.Replay;
using DmaReplay.Reports.Csv;
using DmaReplay.Reports.Html;
using DmaReplay.Reports.Tables;
using static DmaReplay.Reports.Tables.Column;

namespace DmaReplay.Reports.Compare;

/// <summary>
/// The reports of <c>replay --compare</c>: compare.json (per variant, its figures by section),
/// compare.csv (one row per figure, one column per variant) and compare.html (the same tables
/// side by side, with the estimated CPU time per variant as bars). Deterministic: model order,
/// integers only (ratios in ppm in JSON and CSV, as percentages in HTML).
/// </summary>
public static class CompareExporter
{
    public const string JsonName = "compare.json", CsvName = "compare.csv", HtmlName = "compare.html";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the formats asked for ("json", "csv", "html") into <paramref name="outDir"/>; returns the files written.</summary>
    public static IReadOnlyList<string> Export(CompareReport r, string outDir, IEnumerable<string> formats)
    {
        Directory.CreateDirectory(outDir);
        var written = new List<string>();
        foreach (var f in formats)
        {
            string path;
            switch (f)
            {
                case "json":
                    WriteJsonFile(r, path = Path.Combine(outDir, JsonName));
                    break;
                case "csv":
                    path = Path.Combine(outDir, CsvName);
                    using (var writer = CsvWriter.ToFile(path, CsvExporter.Options)) CsvExporter.Write(writer, Table(r));
                    break;
                case "html":
                    File.WriteAllText(path = Path.Combine(outDir, HtmlName), RenderHtml(r), new UTF8Encoding(false));
                    break;
                default:
                    continue;
            }
            written.Add(path);
        }
        return written;
    }

    public static void WriteJsonFile(CompareReport r, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        WriteJson(r, stream);
    }

    public static void WriteJson(CompareReport r, Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("input", r.Input);
        w.WriteStartArray("variants");
        for (int v = 0; v < r.Variants.Count; v++)
        {
            var info = r.Variants[v];
            w.WriteStartObject();
            w.WriteString("label", info.Label);
            w.WriteStartArray("settings");
            foreach (var s in info.Settings) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteString("platform", info.Platform);
            w.WriteBoolean("captureOwn", info.CaptureOwn);
            w.WriteString("costModel", info.CostModel);
            foreach (var section in r.Rows.GroupBy(x => x.Section))
            {
                w.WriteStartObject(section.Key);
                foreach (var row in section.Where(x => x.Key is null)) Value(w, row.Metric, row.Values[v]);
                foreach (var keyed in section.Where(x => x.Key is not null).GroupBy(x => x.Key!))
                {
                    w.WriteStartObject(keyed.Key);
                    foreach (var row in keyed) Value(w, row.Metric, row.Values[v]);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void Value(Utf8JsonWriter w, string metric, long? value)
    {
        if (value is { } n) w.WriteNumber(metric, n);
        else w.WriteNull(metric);
    }

    /// <summary>One row per figure, one column per variant; ratio metrics end in "Ppm" here.</summary>
    public static ReportTable Table(CompareReport r) => new("compare",
        [Text("section", "Section"), Text("metric", "Metric"), Text("key", "Device / operation"), .. r.Variants.Select(v => Number(v.Label, v.Label))],
        r.Rows.Select(row => (IReadOnlyList<Cell>)
            [row.Section, row.IsRatio ? row.Metric + "Ppm" : row.Metric, row.Key, .. row.Values.Select(x => (Cell)x)]).ToList());

    /// <summary>A ratio in ppm as a percentage with two decimals, rounded down.</summary>
    public static string Percent(long ppm) => (decimal.Floor(ppm / 100m) / 100m).ToString("0.00", Inv) + "%";

    private static ReportTable SectionTable(CompareReport r, string section, bool keyed) => new("compare-" + section,
        [.. keyed ? [Text("key", section == "device" ? "Device" : "Operation")] : Array.Empty<Column>(), Text("metric", "Metric"),
            .. r.Variants.Select(v => Number(v.Label, v.Label))],
        r.Rows.Where(x => x.Section == section).Select(row => (IReadOnlyList<Cell>)
        [
            .. keyed ? [(Cell)row.Key] : Array.Empty<Cell>(), row.Metric,
            .. row.Values.Select(x => x is { } n && row.IsRatio ? (Cell)Percent(n) : (Cell)x),
        ]).ToList());

    public static string RenderHtml(CompareReport r)
    {
        var html = new Html.Html();
        html.Raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Raw("<title>").Text("DMA replay comparison - " + r.Input).Raw("</title>\n<style>\n").Raw(HtmlStyle.Css).Raw("\n</style>\n</head>\n<body>\n")
            .Raw("<header class=\"page\">\n").Element("h1", "DMA replay comparison").Element("p", r.Input, "meta").Raw("</header>\n<main>\n");
        html.Raw("<section id=\"compare\">\n").Element("h2", "Variants").Raw("<ul class=\"provenance\">\n");
        foreach (var v in r.Variants)
            html.Element("li", $"{v.Label}: platform {v.Platform}{(v.CaptureOwn ? " (the capture's own)" : "")}, cost model {v.CostModel}");
        html.Raw("</ul>\n");
        if (r.Rows.FirstOrDefault(x => x.Section == "totals" && x.Metric == "cpuNs") is { } cpu)
        {
            html.Element("h3", "Estimated CPU time");
            html.Raw(Bars(r.Variants.Select(v => v.Label).ToList(), cpu.Values));
        }
        html.Element("h3", "Totals").Table(SectionTable(r, "totals", keyed: false));
        html.Element("h3", "IOMMU").Table(SectionTable(r, "iommu", keyed: false));
        html.Element("h3", "Per device").Table(SectionTable(r, "device", keyed: true), "No devices.");
        html.Element("h3", "Per operation (CPU ns per call)").Table(SectionTable(r, "operation", keyed: true), "No calls.");
        html.Raw("</section>\n</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Bars(IReadOnlyList<string> labels, IReadOnlyList<long?> values)
    {
        const double left = 220, width = 420, row = 24;
        long max = Math.Max(1, values.Max(v => v ?? 0));
        var svg = new StringBuilder();
        double height = row * labels.Count + 8;
        svg.Append("<svg class=\"compare-chart\" role=\"img\" viewBox=\"0 0 760 ").Append(height.ToString("0", Inv))
            .Append("\" width=\"760\" height=\"").Append(height.ToString("0", Inv)).Append("\">\n");
        for (int i = 0; i < labels.Count; i++)
        {
            double y = row * i + 4, w = width * (values[i] ?? 0) / max;
            svg.Append("<text x=\"").Append((left - 6).ToString("0", Inv)).Append("\" y=\"").Append((y + 15).ToString("0", Inv))
                .Append("\" font-size=\"12\" text-anchor=\"end\">").Append(Html.Html.Encode(labels[i])).Append("</text>")
                .Append("<rect x=\"").Append(left.ToString("0", Inv)).Append("\" y=\"").Append(y.ToString("0", Inv)).Append("\" width=\"")
                .Append(w.ToString("0.#", Inv)).Append("\" height=\"18\" fill=\"#4e79a7\"/>")
                .Append("<text x=\"").Append((left + w + 6).ToString("0.#", Inv)).Append("\" y=\"").Append((y + 15).ToString("0", Inv))
                .Append("\" font-size=\"12\">").Append(Html.Html.Encode(values[i] is { } n ? CostSection.Ns(n) : "n/a")).Append("</text>\n");
        }
        return svg.Append("</svg>\n").ToString();
    }
}
