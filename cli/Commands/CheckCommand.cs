using System.CommandLine;
using DmaReplay.Cli.Common;
using DmaReplay.Engine;
using DmaReplay.Engine.Inputs;
using DmaReplay.Engine.Summary;
using DmaReplay.Reports;
using DmaReplay.Reports.Json;

namespace DmaReplay.Cli.Commands;

/// <summary><c>dmareplay check</c>: parse traces, summarize them and write the reports.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var traces = CommonOptions.Traces();
        var outDir = CommonOptions.OutDir();
        var formats = CommonOptions.Formats();
        var json = new Option<string?>("--json")
        {
            Description = "Write summary.json to this path. Alone, it is the only file written; with --out or --format, the reports are written too.",
        };
        var command = new Command("check", "Parse DMA traces, account for every line, and report per input and per device.")
        {
            traces, outDir, formats, json,
        };
        command.SetAction(pr =>
        {
            bool reportsAsked = pr.GetResult(outDir) is { Implicit: false } || pr.GetResult(formats) is { Implicit: false };
            string? jsonPath = pr.GetValue(json);
            return Run(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(traces)!,
                pr.GetValue(outDir)!, jsonPath is not null && !reportsAsked ? "" : pr.GetValue(formats)!, jsonPath);
        });
        return command;
    }

    /// <param name="formats">Comma-separated exporter names; empty writes no reports into <paramref name="outDir"/>.</param>
    public static int Run(TextWriter stdout, TextWriter stderr, IReadOnlyList<string> traces, string outDir, string formats, string? jsonPath)
    {
        var exporters = new List<IReportExporter>();
        foreach (var name in formats.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var exporter = ReportExporters.Find(name);
            if (exporter is null)
            {
                stderr.WriteLine($"error: unknown report format '{name}' (known: {ReportExporters.Names})");
                return (int)ReturnCode.UsageOrInputError;
            }
            if (!exporters.Contains(exporter)) exporters.Add(exporter);
        }

        var inputs = InputResolver.Resolve(traces);
        var summary = new CheckRun().Run(inputs);

        var written = new List<string>();
        try
        {
            foreach (var exporter in exporters) written.AddRange(exporter.Export(summary, outDir));
            if (jsonPath is not null)
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

        ConsoleSummary.Write(stdout, stderr, summary, written);
        return (int)(summary.AnyInputUnreadable ? ReturnCode.UsageOrInputError : ReturnCode.Ok);
    }
}
