using DmaReplay.Reports.Csv;
using DmaReplay.Reports.Html;
using DmaReplay.Reports.Json;

namespace DmaReplay.Reports;

/// <summary>The exporters by --format name.</summary>
public static class ReportExporters
{
    public static IReadOnlyList<IReportExporter> All { get; } = [new JsonExporter(), new CsvExporter(), new HtmlExporter()];

    public static IReportExporter? Find(string format) =>
        All.FirstOrDefault(e => string.Equals(e.Format, format, StringComparison.OrdinalIgnoreCase));

    public static string Names => string.Join(", ", All.Select(e => e.Format));

    /// <summary>"json,csv" → exporters, once each; an unknown name is a <see cref="FormatException"/>.</summary>
    public static List<IReportExporter> Parse(string formats)
    {
        var result = new List<IReportExporter>();
        foreach (var name in formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var exporter = Find(name) ?? throw new FormatException($"unknown report format '{name}' (known: {Names})");
            if (!result.Contains(exporter)) result.Add(exporter);
        }
        return result;
    }
}
