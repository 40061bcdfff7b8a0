using System.CommandLine;
using DmaReplay.Cli.Common;
using DmaReplay.Engine.Inputs;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;

namespace DmaReplay.Cli.Commands;

/// <summary>
/// <c>dmareplay replay</c>: re-simulate a capture on the emulated DMA stack — its own platform
/// (fidelity against the kernel's addresses) or another one (what-if).
/// </summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input")
        {
            Description = "A capture bundle folder (its platform is read from it) or a trace file (with --platform).",
        };
        var options = new RunSettings.Options();
        var command = new Command("replay", "Replay a trace on an emulated DMA stack (dma-direct, SWIOTLB, dma-iommu) and compare every address with the kernel's.")
        {
            input,
        };
        options.AddTo(command);
        command.SetAction(pr => Run(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(input)!, options.Bind(pr)));
        return command;
    }

    public static int Run(TextWriter stdout, TextWriter stderr, string input, RunSettings settings)
    {
        List<Reports.IReportExporter> exporters;
        Engine.Checks.CheckOptions checks;
        Engine.Findings.Severity? failOn;
        PlatformModel platform;
        CaptureFacts? facts;
        bool own;
        try
        {
            (exporters, checks, failOn) = settings.Validate();
            (platform, facts, own) = PlatformSource.Resolve(input, settings.Platform, settings.Set);
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
        var run = new ReplayRun(checks with { Platform = Engine.Checks.CheckPlatform.From(platform) });
        var summary = run.Run(resolved[0].DisplayPath, resolved[0].OpenPath, platform, facts, own);
        ConsoleSummary.WriteReplay(stdout, summary);
        return ReportWriter.Finish(stdout, stderr, summary, settings, exporters, failOn, run.Suppressed);
    }
}
