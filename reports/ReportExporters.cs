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
}
