namespace DmaReplay.Engine.Inputs;

/// <summary>
/// Turns command-line inputs into trace files. A file (or "-" for stdin) is itself. A directory
/// holding trace.txt (or .gz/.zst) is a capture bundle and stands for that file. Any other
/// directory is a corpus: its bundles and its *.trace files (also .trace.gz/.trace.zst), searched
/// recursively in ordinal name order so runs are deterministic.
/// </summary>
public static class InputResolver
{
    private static readonly string[] BundleTraceNames = ["trace.txt", "trace.txt.gz", "trace.txt.zst"];
    private static readonly string[] CorpusSuffixes = [".trace", ".trace.gz", ".trace.zst"];

    public static IReadOnlyList<ResolvedInput> Resolve(IEnumerable<string> args)
    {
        var result = new List<ResolvedInput>();
        foreach (var arg in args)
        {
            if (arg == Parsers.Input.TraceInputStream.StandardInput || File.Exists(arg))
                result.Add(new ResolvedInput(arg, arg, null));
            else if (Directory.Exists(arg))
                AddDirectory(arg, result, top: true);
            else
                result.Add(new ResolvedInput(arg, arg, "no such file or directory"));
        }
        return result;
    }

    /// <summary>The bundle's trace file, or null when the directory is not a bundle.</summary>
    public static string? BundleTrace(string dir) =>
        BundleTraceNames.Select(n => Path.Combine(dir, n)).FirstOrDefault(File.Exists);

    private static void AddDirectory(string dir, List<ResolvedInput> result, bool top)
    {
        var trace = BundleTrace(dir);
        if (trace is not null)
        {
            result.Add(new ResolvedInput(trace, trace, null) { BundleDir = dir });
            return;
        }
        int before = result.Count;
        foreach (var file in Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal))
        {
            if (CorpusSuffixes.Any(s => file.EndsWith(s, StringComparison.Ordinal))) result.Add(new ResolvedInput(file, file, null));
        }
        foreach (var sub in Directory.GetDirectories(dir).OrderBy(d => d, StringComparer.Ordinal)) AddDirectory(sub, result, top: false);
        if (top && result.Count == before)
            result.Add(new ResolvedInput(dir, dir, "directory holds no trace (no trace.txt bundle and no *.trace file)"));
    }
}

/// <summary>An input to read: its display path, the path to open, and why it cannot be read (null if it can).</summary>
public sealed record ResolvedInput(string DisplayPath, string OpenPath, string? Error)
{
    /// <summary>The capture bundle the trace belongs to (its platform facts), or null for a plain trace file.</summary>
    public string? BundleDir { get; init; }
}
