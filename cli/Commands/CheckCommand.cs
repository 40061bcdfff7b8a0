using System.CommandLine;
using DmaReplay.Cli.Common;
using DmaReplay.Engine;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Inputs;
using DmaReplay.Reports;
using DmaReplay.Reports.Json;

namespace DmaReplay.Cli.Commands;

/// <summary><c>dmareplay check</c>: parse traces, run the misuse checks, summarize and write the reports.</summary>
internal static class CheckCommand
{
    /// <summary>Everything <c>check</c> takes besides the traces.</summary>
    public sealed record Settings
    {
        public string OutDir { get; init; } = "dmareplay-out";
        /// <summary>Comma-separated exporter names; empty writes no reports into <see cref="OutDir"/>.</summary>
        public string Formats { get; init; } = "json,csv,html";
        public string? JsonPath { get; init; }
        public string FailOn { get; init; } = "error";
        public string? Rules { get; init; }
        public string? SuppressFile { get; init; }
        public string Platform { get; init; } = "x86-64-default";
        public IReadOnlyList<string> Set { get; init; } = [];
    }

    public static Command Create()
    {
        var traces = CommonOptions.Traces();
        var outDir = CommonOptions.OutDir();
        var formats = CommonOptions.Formats();
        var json = new Option<string?>("--json")
        {
            Description = "Write summary.json to this path. Alone, it is the only file written; with --out or --format, the reports are written too.",
        };
        var failOn = new Option<string>("--fail-on")
        {
            Description = "Exit with 1 when a finding has this severity or higher: error, warning, info or none.",
            DefaultValueFactory = _ => "error",
        };
        var rules = new Option<string?>("--rules")
        {
            Description = "Rules to run: comma-separated ids, 'all', '-id' to leave one out (e.g. -leak-at-end).",
        };
        var suppress = new Option<string?>("--suppress")
        {
            Description = "Suppression file: lines '<rule> <device> [<stack frame>]' with * and ? wildcards.",
        };
        var platform = CommonOptions.Platform();
        var set = CommonOptions.Set();
        var command = new Command("check", "Parse DMA traces, account for every line, and find DMA API misuse the way CONFIG_DMA_API_DEBUG does.")
        {
            traces, outDir, formats, json, failOn, rules, suppress, platform, set,
        };
        command.SetAction(pr =>
        {
            bool reportsAsked = pr.GetResult(outDir) is { Implicit: false } || pr.GetResult(formats) is { Implicit: false };
            string? jsonPath = pr.GetValue(json);
            return Run(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(traces)!, new Settings
            {
                OutDir = pr.GetValue(outDir)!,
                Formats = jsonPath is not null && !reportsAsked ? "" : pr.GetValue(formats)!,
                JsonPath = jsonPath,
                FailOn = pr.GetValue(failOn)!,
                Rules = pr.GetValue(rules),
                SuppressFile = pr.GetValue(suppress),
                Platform = pr.GetValue(platform)!,
                Set = pr.GetValue(set) ?? [],
            });
        });
        return command;
    }

    public static int Run(TextWriter stdout, TextWriter stderr, IReadOnlyList<string> traces, Settings settings)
    {
        List<IReportExporter> exporters;
        CheckOptions options;
        Severity? failOn;
        try
        {
            exporters = ReportExporters.Parse(settings.Formats);
            failOn = CheckOptions.ParseFailOn(settings.FailOn);
            options = new CheckOptions
            {
                Platform = CheckOptions.ApplySettings(CommonOptions.ResolvePlatform(settings.Platform), settings.Set),
                EnabledRules = settings.Rules is null ? new CheckOptions().EnabledRules : CheckOptions.ParseRules(settings.Rules),
                Suppressions = settings.SuppressFile is null
                    ? SuppressionList.Empty
                    : SuppressionList.Parse(File.ReadAllText(settings.SuppressFile), settings.SuppressFile),
            };
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine("error: " + ex.Message);
            return (int)ReturnCode.UsageOrInputError;
        }

        var run = new CheckRun(options);
        var summary = run.Run(InputResolver.Resolve(traces));

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

        ConsoleSummary.Write(stdout, stderr, summary, written, run.Suppressed);
        if (summary.AnyInputUnreadable) return (int)ReturnCode.UsageOrInputError;
        bool failing = failOn is { } threshold && summary.Findings.Any(f => f.Severity >= threshold);
        return (int)(failing ? ReturnCode.FindingsFound : ReturnCode.Ok);
    }
}
