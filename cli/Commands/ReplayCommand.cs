using System.CommandLine;
using DmaReplay.Cli.Common;
using DmaReplay.Engine.Cost;
using DmaReplay.Engine.Inputs;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;
using DmaReplay.Reports.Compare;

namespace DmaReplay.Cli.Commands;

/// <summary>
/// <c>dmareplay replay</c>: re-simulate a capture on the emulated DMA stack — its own platform
/// (fidelity against the kernel's addresses) or another one (what-if); with <c>--cost</c> an
/// estimate of the CPU time per call, with <c>--compare</c> several platforms side by side from
/// one pass over the input.
/// </summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input")
        {
            Description = "A capture bundle folder (its platform is read from it) or a trace file (with --platform).",
        };
        var cost = new Option<string?>("--cost")
        {
            Description = $"Estimate the CPU time of every DMA API call with a cost model: a preset ({CostPresets.Names}) or a cost file (dmareplay calibrate -o). --set cost.<term>=v overrides a term.",
        };
        var compare = new Option<string[]>("--compare")
        {
            Description = "Replay variants side by side from one pass over the input: KEY=v1,v2[,...] for any --set key (repeatable: every combination). Writes compare.json, compare.csv, compare.html.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var options = new RunSettings.Options();
        var command = new Command("replay", "Replay a trace on an emulated DMA stack (dma-direct, SWIOTLB, dma-iommu) and compare every address with the kernel's.")
        {
            input, cost, compare,
        };
        options.AddTo(command);
        command.SetAction(pr => Run(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(input)!, options.Bind(pr),
            pr.GetValue(cost), pr.GetValue(compare) ?? []));
        return command;
    }

    public static int Run(TextWriter stdout, TextWriter stderr, string input, RunSettings settings, string? cost = null, IReadOnlyList<string>? compare = null)
    {
        compare ??= [];
        List<Reports.IReportExporter> exporters;
        Engine.Checks.CheckOptions checks;
        Engine.Findings.Severity? failOn;
        PlatformModel platform;
        CaptureFacts? facts;
        bool own;
        CostModel? model;
        IReadOnlyList<CompareVariant> variants = [];
        var costSets = settings.Set.Where(CostTerms.IsCostSetting).ToList();
        settings = settings with { Set = settings.Set.Where(s => !CostTerms.IsCostSetting(s)).ToList() };
        try
        {
            (exporters, checks, failOn) = settings.Validate();
            (platform, facts, own) = PlatformSource.Resolve(input, settings.Platform, settings.Set);
            model = cost is not null ? CostPresets.Load(cost) : costSets.Count > 0 || compare.Count > 0 ? CostPresets.All[CostPresets.Default]() : null;
            if (model is not null) model = CostTerms.Apply(model, costSets);
            if (compare.Count > 0) variants = CompareVariant.Parse(compare);
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine("error: " + ex.Message);
            return (int)ReturnCode.UsageOrInputError;
        }
        var resolved = InputResolver.Resolve([input]);
        if (resolved.Count != 1 || resolved[0].Error is { } error)
        {
            stderr.WriteLine($"error: {input}: " + (resolved.Count == 1 ? resolved[0].Error : "replay takes one trace or one capture bundle"));
            return (int)ReturnCode.UsageOrInputError;
        }
        if (variants.Count > 0) return RunCompare(stdout, stderr, input, resolved[0], settings, checks, failOn, exporters, model!, variants);
        var run = new ReplayRun(checks with { Platform = Engine.Checks.CheckPlatform.From(platform) });
        var summary = run.Run(resolved[0].DisplayPath, resolved[0].OpenPath, platform, facts, own, model);
        ConsoleSummary.WriteReplay(stdout, summary);
        if (summary.Replay?.Cost is { } estimate) ConsoleCost.Write(stdout, estimate);
        return ReportWriter.Finish(stdout, stderr, summary, settings, exporters, failOn, run.Suppressed);
    }

    /// <summary>Every variant's platform and cost model (the base settings, then the variant's), one pass, the comparison reports.</summary>
    private static int RunCompare(TextWriter stdout, TextWriter stderr, string input, ResolvedInput resolved, RunSettings settings,
        Engine.Checks.CheckOptions checks, Engine.Findings.Severity? failOn, List<Reports.IReportExporter> exporters, CostModel model,
        IReadOnlyList<CompareVariant> variants)
    {
        var runs = new List<(PlatformModel, bool, CostModel)>();
        CaptureFacts? facts = null;
        try
        {
            foreach (var v in variants)
            {
                var platformSets = settings.Set.Concat(v.Settings.Where(s => !CostTerms.IsCostSetting(s))).ToList();
                var (p, f, own) = PlatformSource.Resolve(input, settings.Platform, platformSets);
                facts = f;
                runs.Add((p, own, CostTerms.Apply(model, v.Settings.Where(CostTerms.IsCostSetting))));
            }
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine("error: " + ex.Message);
            return (int)ReturnCode.UsageOrInputError;
        }
        var summaries = new CompareRun(checks).Run(resolved.DisplayPath, resolved.OpenPath, runs, facts);
        var report = CompareReport.Of(resolved.DisplayPath, variants, summaries);
        ConsoleCost.Write(stdout, report);
        var written = new List<string>();
        try
        {
            written.AddRange(CompareExporter.Export(report, settings.OutDir, exporters.Select(e => e.Format)));
            if (settings.JsonPath is { } json)
            {
                CompareExporter.WriteJsonFile(report, json);
                written.Add(json);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot write reports: {ex.Message}");
            return (int)ReturnCode.UsageOrInputError;
        }
        foreach (var f in written) stdout.WriteLine($"wrote {f}");
        if (summaries.Any(s => s.AnyInputUnreadable)) return (int)ReturnCode.UsageOrInputError;
        bool failing = failOn is { } threshold && summaries.Any(s => s.Findings.Any(f => f.Severity >= threshold));
        return (int)(failing ? ReturnCode.FindingsFound : ReturnCode.Ok);
    }
}
