using System.CommandLine;
using DmaReplay.Cli.Common;
using DmaReplay.Engine;
using DmaReplay.Engine.Inputs;

namespace DmaReplay.Cli.Commands;

/// <summary><c>dmareplay check</c>: parse traces, run the misuse checks, summarize and write the reports.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var traces = CommonOptions.Traces();
        var options = new RunSettings.Options();
        var command = new Command("check", "Parse DMA traces, account for every line, and find DMA API misuse the way CONFIG_DMA_API_DEBUG does.")
        {
            traces,
        };
        options.AddTo(command);
        command.SetAction(pr => Run(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(traces)!, options.Bind(pr)));
        return command;
    }

    public static int Run(TextWriter stdout, TextWriter stderr, IReadOnlyList<string> traces, RunSettings settings)
    {
        List<Reports.IReportExporter> exporters;
        Engine.Checks.CheckOptions checks;
        Engine.Findings.Severity? failOn;
        try
        {
            (exporters, checks, failOn) = settings.Validate();
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine("error: " + ex.Message);
            return (int)ReturnCode.UsageOrInputError;
        }
        var run = new CheckRun(checks, settings.Platform, settings.Set);
        var summary = run.Run(InputResolver.Resolve(traces));
        return ReportWriter.Finish(stdout, stderr, summary, settings, exporters, failOn, run.Suppressed);
    }
}
