using DmaReplay.Engine.Summary;
using DmaReplay.Reports;
using DmaReplay.Reports.Json;

namespace DmaReplay.Cli.Common;

/// <summary>Writes a run's reports and picks the exit code: shared by <c>check</c> and <c>replay</c>.</summary>
internal static class ReportWriter
{
    public static int Finish(TextWriter stdout, TextWriter stderr, RunSummary summary, RunSettings settings,
        IReadOnlyList<IReportExporter> exporters, Engine.Findings.Severity? failOn, long suppressed)
    {
        var written = new List<string>();
        try
        {
            foreach (var exporter in exporters) written.AddRange(exporter.Export(summary, settings.OutDir));
            if (settings.JsonPath is { } jsonPath)
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(jsonPath));
                if (dir is not null) Directory.CreateDirectory(dir);
                JsonExporter.WriteFile(summary, jsonPath);
                written.Add(jsonPath);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot write reports: {ex.Message}");
            return (int)ReturnCode.UsageOrInputError;
        }
        ConsoleSummary.Write(stdout, stderr, summary, written, suppressed);
        if (summary.AnyInputUnreadable) return (int)ReturnCode.UsageOrInputError;
        bool failing = failOn is { } threshold && summary.Findings.Any(f => f.Severity >= threshold);
        return (int)(failing ? ReturnCode.FindingsFound : ReturnCode.Ok);
    }
}
