using System.CommandLine;

namespace DmaReplay.Cli.Common;

/// <summary>Options shared by several verbs.</summary>
internal static class CommonOptions
{
    public static Argument<string[]> Traces() => new("trace")
    {
        Description = "Trace files (ftrace text, trace_pipe or trace-cmd report output; .gz/.zst; - for stdin), " +
                      "capture bundle folders, or corpus folders (bundles and *.trace files inside).",
        Arity = ArgumentArity.OneOrMore,
    };

    public static Option<string> OutDir() => new("--out", "-o")
    {
        Description = "Folder for the reports.",
        DefaultValueFactory = _ => "dmareplay-out",
    };

    public static Option<string> Formats() => new("--format")
    {
        Description = "Comma-separated report formats: json, csv, html.",
        DefaultValueFactory = _ => "json,csv,html",
    };
}
