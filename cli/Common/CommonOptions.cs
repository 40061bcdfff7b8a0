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

    public static Option<string> Platform() => new("--platform")
    {
        Description = "The platform the trace was captured on: " + string.Join(", ", DmaReplay.Engine.Checks.CheckPlatform.Presets.Keys) + ".",
        DefaultValueFactory = _ => "x86-64-default",
    };

    public static Option<string[]> Set() => new("--set")
    {
        Description = "Override a platform fact, key=value (repeatable): cpu.l1_cache_bytes, dma.cache_alignment, " +
                      "dma.bounce_unaligned_kmalloc, device.<name>.max_segment_size, device.<name>.segment_boundary.",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    public static DmaReplay.Engine.Checks.CheckPlatform ResolvePlatform(string name) =>
        DmaReplay.Engine.Checks.CheckPlatform.Presets.TryGetValue(name, out var p)
            ? p
            : throw new FormatException($"unknown platform '{name}' (known: {string.Join(", ", DmaReplay.Engine.Checks.CheckPlatform.Presets.Keys)})");

    public static Option<string> Formats() => new("--format")
    {
        Description = "Comma-separated report formats: json, csv, html.",
        DefaultValueFactory = _ => "json,csv,html",
    };
}
