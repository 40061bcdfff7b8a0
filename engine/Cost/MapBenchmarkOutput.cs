using System.Globalization;
using System.Text.RegularExpressions;

namespace DmaReplay.Engine.Cost;

/// <summary>How the device of a benchmark run was mapped: the part of the cost model its latencies determine.</summary>
public enum BenchmarkPath { Strict, Lazy, Direct }

/// <summary>
/// One run of the kernel's dma_map_benchmark tool: its parameters and the average map and unmap
/// latency with their standard deviations, in ns (the tool prints µs with one decimal:
/// avg_map_100ns / 10.0, so a value is known to ±50 ns). <see cref="Sg"/>: a dma_map_sg run
/// (the 2025 "-m 1" mode), whose granule is the entry count.
/// </summary>
public sealed record MapBenchmarkRun(
    int Line, int Threads, int Seconds, int Node, string Dir, int Granule, bool Sg, BenchmarkPath Path,
    double MapNs, double MapStddevNs, double UnmapNs, double UnmapStddevNs);

/// <summary>
/// Reads what tools/testing/selftests/dma/dma_map_benchmark.c prints (Linux 6.12):
/// <code>
/// dma mapping benchmark: threads:%d seconds:%d node:%d dir:%s granule: %d
/// average map latency(us):%.1f standard deviation:%.1f
/// average unmap latency(us):%.1f standard deviation:%.1f
/// </code>
/// and its other versions: without "node:/dir:" or "granule:" (5.11–5.12: granule 1), with
/// "granule/sg_nents:" after a "dma mapping mode:" line (the sg mode), and the first posting's
/// one-line "average map_nsec:%d average unmap_nsec:%d". A file may hold several runs, with
/// shell prompts and other lines between them. "# iommu: strict|lazy|passthrough|none" sets how
/// the following runs' device was mapped (the output does not say). A line that starts like the
/// tool's output but does not read as it, or a run missing a line, is a
/// <see cref="FormatException"/> naming the file and line.
/// </summary>
public static partial class MapBenchmarkOutput
{
    [GeneratedRegex(@"^dma mapping benchmark(?:\([^)]*\))?:\s*(?<rest>.*)$")]
    private static partial Regex Header();

    [GeneratedRegex(@"(?<key>[a-z_/]+):\s*(?<value>\S+)")]
    private static partial Regex Field();

    [GeneratedRegex(@"^average (?<op>map|unmap) latency\(us\):\s*(?<avg>\S+)\s+standard deviation:\s*(?<sd>\S+)\s*$")]
    private static partial Regex Latency();

    [GeneratedRegex(@"^#\s*iommu\s*:\s*(?<mode>\S+)\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Annotation();

    public static IReadOnlyList<MapBenchmarkRun> Read(string path, BenchmarkPath defaultPath = BenchmarkPath.Strict) =>
        Parse(File.ReadAllLines(path), path, defaultPath);

    public static IReadOnlyList<MapBenchmarkRun> Parse(IReadOnlyList<string> lines, string path, BenchmarkPath defaultPath = BenchmarkPath.Strict)
    {
        var runs = new List<MapBenchmarkRun>();
        var mode = defaultPath;
        bool sgNext = false;
        MapBenchmarkRun? open = null; // header read, latencies pending
        bool haveMap = false;
        for (int i = 0; i < lines.Count; i++)
        {
            int lineNo = i + 1;
            string line = lines[i].Trim();
            if (Annotation().Match(line) is { Success: true } a)
            {
                Close();
                mode = PathOf(a.Groups["mode"].Value, path, lineNo);
                continue;
            }
            if (line.StartsWith("dma mapping mode:", StringComparison.Ordinal))
            {
                Close();
                string m = line["dma mapping mode:".Length..].Trim();
                sgNext = m == "1" || m.Contains("SG", StringComparison.Ordinal);
                continue;
            }
            if (line.StartsWith("dma mapping benchmark", StringComparison.Ordinal))
            {
                Close();
                open = ParseHeader(line, path, lineNo, mode, sgNext);
                sgNext = false;
                haveMap = false;
                if (open.MapNs >= 0) // the first posting's one-line form carries both averages
                {
                    runs.Add(open);
                    open = null;
                }
                continue;
            }
            if (!line.StartsWith("average ", StringComparison.Ordinal)) continue; // prompts, dmesg, blank lines
            var l = Latency().Match(line);
            if (!l.Success) throw Error(path, lineNo, "expected 'average map|unmap latency(us):%.1f standard deviation:%.1f'");
            if (open is null) throw Error(path, lineNo, "a latency line with no 'dma mapping benchmark:' line before it");
            double avg = Micros(l.Groups["avg"].Value, path, lineNo), sd = Micros(l.Groups["sd"].Value, path, lineNo);
            if (l.Groups["op"].Value == "map")
            {
                if (haveMap) throw Error(path, lineNo, $"a second map latency for the run of line {open.Line}");
                open = open with { MapNs = avg, MapStddevNs = sd };
                haveMap = true;
            }
            else
            {
                if (!haveMap) throw Error(path, lineNo, $"the unmap latency of the run of line {open.Line} comes before its map latency");
                runs.Add(open with { UnmapNs = avg, UnmapStddevNs = sd });
                open = null;
            }
        }
        Close();
        if (runs.Count == 0) throw Error(path, lines.Count, "no dma_map_benchmark run found (a 'dma mapping benchmark:' line and its latency lines)");
        return runs;

        void Close()
        {
            if (open is not null) throw Error(path, open.Line, $"the run has no {(haveMap ? "unmap" : "map")} latency line");
        }
    }

    private static MapBenchmarkRun ParseHeader(string line, string path, int lineNo, BenchmarkPath mode, bool sg)
    {
        var h = Header().Match(line);
        if (!h.Success) throw Error(path, lineNo, "expected 'dma mapping benchmark: threads:%d seconds:%d ...'");
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match f in Field().Matches(h.Groups["rest"].Value)) fields[f.Groups["key"].Value] = f.Groups["value"].Value;
        if (fields.TryGetValue("map_nsec", out var mapNs) && fields.TryGetValue("unmap_nsec", out var unmapNs))
        {
            return new MapBenchmarkRun(lineNo, 0, 0, -1, "BIDIRECTIONAL", 1, sg, mode,
                Int(mapNs, "map_nsec", path, lineNo), 0, Int(unmapNs, "unmap_nsec", path, lineNo), 0);
        }
        int threads = fields.TryGetValue("threads", out var t) ? Int(t, "threads", path, lineNo) : throw Error(path, lineNo, "the header has no threads:");
        int seconds = fields.TryGetValue("seconds", out var s) ? Int(s, "seconds", path, lineNo) : throw Error(path, lineNo, "the header has no seconds:");
        int node = fields.TryGetValue("node", out var n) ? Int(n, "node", path, lineNo) : -1;
        string dir = fields.GetValueOrDefault("dir", "BIDIRECTIONAL");
        if (dir is not ("BIDIRECTIONAL" or "TO_DEVICE" or "FROM_DEVICE")) throw Error(path, lineNo, $"dir:{dir} is not BIDIRECTIONAL, TO_DEVICE or FROM_DEVICE");
        string? g = fields.GetValueOrDefault("granule") ?? fields.GetValueOrDefault("granule/sg_nents");
        int granule = g is null ? 1 : Int(g, "granule", path, lineNo);
        if (threads < 1 || seconds < 1 || granule is < 1 or > 1024)
            throw Error(path, lineNo, "threads and seconds must be at least 1 and the granule 1–1024 (the tool's own limits)");
        return new MapBenchmarkRun(lineNo, threads, seconds, node, dir, granule, sg, mode, -1, 0, -1, 0);
    }

    private static BenchmarkPath PathOf(string mode, string path, int lineNo) => mode.ToLowerInvariant() switch
    {
        "strict" or "dma" => BenchmarkPath.Strict,
        "lazy" or "dma-fq" => BenchmarkPath.Lazy,
        "none" or "passthrough" or "identity" or "off" => BenchmarkPath.Direct,
        _ => throw Error(path, lineNo, $"# iommu: '{mode}' is not strict, lazy, passthrough or none"),
    };

    private static int Int(string v, string key, string path, int lineNo) =>
        int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int n) ? n : throw Error(path, lineNo, $"{key}: '{v}' is not an integer");

    /// <summary>A "%.1f" microsecond value in ns.</summary>
    private static double Micros(string v, string path, int lineNo) =>
        decimal.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal us)
            ? (double)(us * 1000m)
            : throw Error(path, lineNo, $"'{v}' is not a latency in µs");

    private static FormatException Error(string path, int line, string reason) => new($"{path}:{line}: {reason}");
}
