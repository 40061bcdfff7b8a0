using System.CommandLine;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Platform;
using DmaReplay.Reports;

namespace DmaReplay.Cli.Common;

/// <summary>What <c>check</c> and <c>replay</c> take besides their inputs: reports, checks and the platform.</summary>
internal sealed record RunSettings
{
    public string OutDir { get; init; } = "dmareplay-out";
    /// <summary>Comma-separated exporter names; empty writes no reports into <see cref="OutDir"/>.</summary>
    public string Formats { get; init; } = "json,csv,html";
    public string? JsonPath { get; init; }
    public string FailOn { get; init; } = "error";
    public string? Rules { get; init; }
    public string? SuppressFile { get; init; }
    /// <summary>A preset name or a platform file; null: the bundle's own platform.</summary>
    public string? Platform { get; init; }
    public IReadOnlyList<string> Set { get; init; } = [];

    /// <summary>The options both verbs share, added to <paramref name="command"/>.</summary>
    public sealed class Options
    {
        public readonly Option<string> OutDir = CommonOptions.OutDir();
        public readonly Option<string> Formats = CommonOptions.Formats();
        public readonly Option<string?> Json = new("--json")
        {
            Description = "Write summary.json to this path. Alone, it is the only file written; with --out or --format, the reports are written too.",
        };
        public readonly Option<string> FailOn = new("--fail-on")
        {
            Description = "Exit with 1 when a finding has this severity or higher: error, warning, info or none.",
            DefaultValueFactory = _ => "error",
        };
        public readonly Option<string?> Rules = new("--rules")
        {
            Description = "Rules to run: comma-separated ids, 'all', '-id' to leave one out (e.g. -leak-at-end).",
        };
        public readonly Option<string?> Suppress = new("--suppress")
        {
            Description = "Suppression file: lines '<rule> <device> [<stack frame>]' with * and ? wildcards.",
        };
        public readonly Option<string?> Platform = new("--platform")
        {
            Description = $"Platform to run on: a preset ({PlatformPresets.Names}) or a platform file. Default: the capture bundle's own.",
        };
        public readonly Option<string[]> Set = new("--set")
        {
            Description = "Override a platform fact, key=value (repeatable), e.g. swiotlb.force=true, swiotlb.size=32M, device.0000:00:02.0.dma_mask=32. See README.",
            Arity = ArgumentArity.ZeroOrMore,
        };

        public void AddTo(Command command)
        {
            foreach (var o in new Option[] { OutDir, Formats, Json, FailOn, Rules, Suppress, Platform, Set }) command.Options.Add(o);
        }

        public RunSettings Bind(ParseResult pr)
        {
            bool reportsAsked = pr.GetResult(OutDir) is { Implicit: false } || pr.GetResult(Formats) is { Implicit: false };
            string? json = pr.GetValue(Json);
            return new RunSettings
            {
                OutDir = pr.GetValue(OutDir)!,
                Formats = json is not null && !reportsAsked ? "" : pr.GetValue(Formats)!,
                JsonPath = json,
                FailOn = pr.GetValue(FailOn)!,
                Rules = pr.GetValue(Rules),
                SuppressFile = pr.GetValue(Suppress),
                Platform = pr.GetValue(Platform),
                Set = pr.GetValue(Set) ?? [],
            };
        }
    }

    /// <summary>Everything that can be wrong with the settings, found before any input is read.</summary>
    public (List<IReportExporter> Exporters, CheckOptions Checks, Severity? FailOn) Validate()
    {
        var exporters = ReportExporters.Parse(Formats);
        var failOn = CheckOptions.ParseFailOn(FailOn);
        if (Platform is not null && !PlatformPresets.All.ContainsKey(Platform) && !File.Exists(Platform))
            throw new FormatException($"--platform: '{Platform}' is neither a preset ({PlatformPresets.Names}) nor a file");
        var basePlatform = Platform is null || PlatformPresets.All.ContainsKey(Platform)
            ? PlatformPresets.X86Default()
            : PlatformJson.Read(Platform);
        var platform = PlatformSettings.Apply(basePlatform, Set); // the settings' syntax, checked once
        var checks = new CheckOptions
        {
            Platform = CheckPlatform.From(Platform is null && Set.Count == 0 ? PlatformPresets.X86Default() : platform),
            EnabledRules = Rules is null ? new CheckOptions().EnabledRules : CheckOptions.ParseRules(Rules),
            Suppressions = SuppressFile is null ? SuppressionList.Empty : SuppressionList.Parse(File.ReadAllText(SuppressFile), SuppressFile),
        };
        return (exporters, checks, failOn);
    }
}
