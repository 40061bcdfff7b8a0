using System.CommandLine;
using System.Globalization;
using DmaReplay.Cli.Common;
using DmaReplay.Engine.Cost;

namespace DmaReplay.Cli.Commands;

/// <summary>
/// <c>dmareplay calibrate &lt;dma_map_benchmark output&gt;</c>: fits the cost model's map and unmap
/// terms to the user's own measurements and writes a cost file for <c>replay --cost</c>.
/// </summary>
internal static class CalibrateCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("output")
        {
            Description = "A file holding the output of tools/testing/selftests/dma/dma_map_benchmark (one or more runs; '# iommu: strict|lazy|passthrough' before runs says how the device was mapped).",
        };
        var outFile = new Option<string?>("--out", "-o") { Description = "Write the cost file here (JSON; replay --cost takes it)." };
        var basePreset = new Option<string>("--base")
        {
            Description = $"The preset that gives the terms the runs cannot determine: {CostPresets.Names}.",
            DefaultValueFactory = _ => CostPresets.Default,
        };
        var iommu = new Option<string>("--iommu")
        {
            Description = "How the device of runs without a '# iommu:' line was mapped: strict, lazy or passthrough.",
            DefaultValueFactory = _ => "strict",
        };
        var command = new Command("calibrate", "Fit the cost model to dma_map_benchmark measurements and write a cost file.") { input, outFile, basePreset, iommu };
        command.SetAction(pr => Run(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(input)!,
            pr.GetValue(outFile), pr.GetValue(basePreset)!, pr.GetValue(iommu)!));
        return command;
    }

    public static int Run(TextWriter stdout, TextWriter stderr, string input, string? outFile, string basePreset, string iommu)
    {
        var ci = CultureInfo.InvariantCulture;
        Calibration cal;
        try
        {
            if (!CostPresets.All.ContainsKey(basePreset)) throw new FormatException($"--base: '{basePreset}' is not a preset ({CostPresets.Names})");
            var path = iommu.ToLowerInvariant() switch
            {
                "strict" => BenchmarkPath.Strict,
                "lazy" => BenchmarkPath.Lazy,
                "passthrough" or "none" => BenchmarkPath.Direct,
                _ => throw new FormatException($"--iommu: '{iommu}' is not strict, lazy or passthrough"),
            };
            var runs = MapBenchmarkOutput.Read(input, path);
            cal = CostCalibration.Fit(runs, basePreset, Path.GetFileName(input));
            stdout.WriteLine(string.Create(ci, $"{input}: {runs.Count} runs"));
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine("error: " + ex.Message);
            return (int)ReturnCode.UsageOrInputError;
        }
        foreach (var f in cal.Fits)
        {
            stdout.WriteLine(string.Create(ci, $"  {f.Path.ToString().ToLowerInvariant()}: {f.Runs} runs, granules {string.Join(",", f.Granules)}"));
            stdout.WriteLine(string.Create(ci, $"    map   = {f.Map.Intercept:0.#} ns + {f.Map.Slope:0.##} ns/page{(f.Map.SlopeFitted ? "" : " (per-page from the preset)")}, rms residual {f.Map.RmsResidualNs:0.#} ns"));
            stdout.WriteLine(string.Create(ci, $"    unmap = {f.Unmap.Intercept:0.#} ns + {f.Unmap.Slope:0.##} ns/page{(f.Unmap.SlopeFitted ? "" : " (per-page from the preset)")}, rms residual {f.Unmap.RmsResidualNs:0.#} ns"));
        }
        foreach (var t in CostTerms.All) stdout.WriteLine(string.Create(ci, $"  {t.Key,-28} {t.Get(cal.Model),10:0.##} {t.Unit}"));
        foreach (var n in cal.Notes) stdout.WriteLine("  note: " + n);
        if (outFile is null) return (int)ReturnCode.Ok;
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(outFile));
            if (dir is not null) Directory.CreateDirectory(dir);
            File.WriteAllText(outFile, CostFile(cal), new System.Text.UTF8Encoding(false));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot write {outFile}: {ex.Message}");
            return (int)ReturnCode.UsageOrInputError;
        }
        stdout.WriteLine($"wrote {outFile}");
        return (int)ReturnCode.Ok;
    }

    /// <summary>The cost file with the fit behind it under "fit" (ignored when read back).</summary>
    internal static string CostFile(Calibration cal) => CostModelJson.ToJson(cal.Model, cal.BasePreset, w =>
    {
        w.WriteStartObject("fit");
        foreach (var f in cal.Fits)
        {
            w.WriteStartObject(f.Path.ToString().ToLowerInvariant());
            w.WriteNumber("runs", f.Runs);
            w.WriteStartArray("granules");
            foreach (var g in f.Granules) w.WriteNumberValue(g);
            w.WriteEndArray();
            Line(w, "map", f.Map);
            Line(w, "unmap", f.Unmap);
            w.WriteEndObject();
        }
        w.WriteStartArray("notes");
        foreach (var n in cal.Notes) w.WriteStringValue(n);
        w.WriteEndArray();
        w.WriteEndObject();
    });

    private static void Line(System.Text.Json.Utf8JsonWriter w, string name, BenchmarkLine l)
    {
        w.WriteStartObject(name);
        w.WriteNumber("interceptNs", Math.Round(l.Intercept, 2));
        w.WriteNumber("slopeNsPerPage", Math.Round(l.Slope, 3));
        w.WriteBoolean("slopeFitted", l.SlopeFitted);
        w.WriteNumber("rmsResidualNs", Math.Round(l.RmsResidualNs, 2));
        w.WriteEndObject();
    }
}
