using System.CommandLine;
using System.Globalization;
using DmaReplay.Cli.Common;
using DmaReplay.Engine.Inputs;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Cli.Commands;

/// <summary>
/// <c>dmareplay convert</c>: read a trace in any format DmaReplay reads and write its events as
/// CSV, Parquet or ftrace text (docs/synthetic-format.md). Reading the output gives the same events.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input")
        {
            Description = "The trace: ftrace text, trace_pipe or trace-cmd report output (.gz/.zst too; - for stdin), " +
                          "an events CSV or Parquet file, or a capture bundle folder.",
        };
        var output = new Argument<string>("output")
        {
            Description = "The file to write, its format by extension: .csv (or .csv.gz), .parquet, or .txt/.trace (or .gz) for ftrace text.",
        };
        var command = new Command("convert", "Convert a trace between ftrace text, CSV and Parquet; the events survive unchanged.")
        {
            input, output,
        };
        command.SetAction(pr => Run(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(input)!, pr.GetValue(output)!));
        return command;
    }

    public static int Run(TextWriter stdout, TextWriter stderr, string input, string output)
    {
        if (TraceFiles.FormatOfName(output) is not { } format)
        {
            stderr.WriteLine($"error: {output}: the output's extension must be .csv, .csv.gz, .parquet, .txt, .trace or .txt.gz");
            return (int)ReturnCode.UsageOrInputError;
        }
        bool gzip = output.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        if (format == TraceFormat.Parquet && gzip)
        {
            stderr.WriteLine($"error: {output}: Parquet is compressed by column already; write .parquet");
            return (int)ReturnCode.UsageOrInputError;
        }
        var resolved = InputResolver.Resolve([input]);
        if (resolved.Count != 1)
        {
            stderr.WriteLine($"error: {input}: convert takes one trace, this folder holds {resolved.Count}");
            return (int)ReturnCode.UsageOrInputError;
        }
        var source = resolved[0];
        if (source.Error is not null)
        {
            stderr.WriteLine($"error: {source.DisplayPath}: {source.Error}");
            return (int)ReturnCode.UsageOrInputError;
        }

        InputStatistics stats = null!;
        long events = 0;
        try
        {
            var strings = new TraceStrings();
            bool written = OutputFile.Write(output, gzip, stream =>
            {
                using (var writer = TraceFiles.CreateWriter(format, stream, strings))
                {
                    stats = TraceFiles.Read(source.OpenPath, source.DisplayPath, 0, strings, writer);
                    events = writer.Events;
                }
                return stats.ReadError is null;
            });
            if (!written)
            {
                stderr.WriteLine($"error: {source.DisplayPath}: {stats.ReadError}");
                return (int)ReturnCode.UsageOrInputError;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {ex.Message}");
            return (int)ReturnCode.UsageOrInputError;
        }

        var ci = CultureInfo.InvariantCulture;
        long skipped = stats.AccountedLines - stats.Events - stats.Malformed;
        stdout.WriteLine(string.Create(ci,
            $"read {source.DisplayPath} ({stats.Format}): {stats.Lines:N0} lines/records = {stats.Events:N0} events + {skipped:N0} skipped + {stats.Malformed:N0} malformed"));
        foreach (var d in stats.Diagnostics.Take(10)) stderr.WriteLine("  malformed: " + d);
        if (stats.Malformed > 10) stderr.WriteLine(string.Create(ci, $"  … and {stats.Malformed - 10:N0} more malformed"));
        if (stats.LostEvents > 0)
            stderr.WriteLine(string.Create(ci, $"warning: the input says the kernel lost {stats.LostEvents:N0} events; the output carries only the events read"));
        stdout.WriteLine(string.Create(ci, $"wrote {output} ({format.ToString().ToLowerInvariant()}): {events:N0} events, {new FileInfo(output).Length:N0} bytes"));
        return (int)ReturnCode.Ok;
    }
}
