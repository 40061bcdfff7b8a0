using System.Globalization;

namespace DmaReplay.Engine.Cost;

/// <summary>A least-squares line latency = intercept + slope × granule over one path's runs, with its RMS residual (ns).</summary>
public sealed record BenchmarkLine(double Intercept, double Slope, double RmsResidualNs, bool SlopeFitted);

/// <summary>What one path's runs gave: the map and unmap lines and the runs used.</summary>
public sealed record PathFit(BenchmarkPath Path, int Runs, IReadOnlyList<int> Granules, BenchmarkLine Map, BenchmarkLine Unmap);

/// <summary>The calibrated model, the fits behind it, and notes (terms kept from the base preset, runs left out, contention).</summary>
public sealed record Calibration(CostModel Model, string BasePreset, IReadOnlyList<PathFit> Fits, IReadOnlyList<string> Notes);

/// <summary>
/// Fits a cost model to dma_map_benchmark runs. Each run maps one buffer of granule pages with
/// dma_map_single and unmaps it, in a loop, on the same device. What that costs in the model:
/// <list type="bullet">
/// <item>strict IOMMU: map = iommu_dma_map + iova_rcache_hit + g × pte_map; unmap =
/// iommu_dma_unmap + iotlb_inv + g × (pte_unmap + iotlb_inv_page) — the buffer is the same every
/// iteration, so its IOVA comes back from the CPU's range cache;</item>
/// <item>lazy IOMMU: unmap = iommu_dma_unmap + g × pte_unmap (the flush is amortised over up to 256 unmaps);</item>
/// <item>no IOMMU: map = dma_direct_map, unmap = dma_direct_unmap.</item>
/// </list>
/// Per path a least-squares line over the granules gives the fixed and per-page parts (one
/// granule only: the base preset's per-page term, the fixed part from the mean). With strict and
/// lazy runs both, their difference separates the invalidation from the unmap; otherwise the
/// split follows the base preset's ratio. sg-mode runs are left out (noted).
/// </summary>
public static class CostCalibration
{
    public static Calibration Fit(IReadOnlyList<MapBenchmarkRun> runs, string basePreset, string name)
    {
        var m = CostPresets.All[basePreset]();
        var notes = new List<string>();
        var fits = new List<PathFit>();
        foreach (var sg in runs.Where(r => r.Sg)) notes.Add(string.Create(CultureInfo.InvariantCulture, $"line {sg.Line}: a dma_map_sg run (sg_nents {sg.Granule}) is left out: the fit uses dma_map_single runs"));
        if (runs.Any(r => !r.Sg && r.Threads > 1)) notes.Add("runs with more than one thread include lock and IOMMU contention between the threads");
        if (runs.Any(r => !r.Sg && (r.MapNs == 0 || r.UnmapNs == 0))) notes.Add("a latency printed as 0.0 µs is below the tool's 0.1 µs resolution");

        PathFit? Line(BenchmarkPath path, double mapSlope, double unmapSlope)
        {
            var use = runs.Where(r => !r.Sg && r.Path == path).ToList();
            if (use.Count == 0) return null;
            var fit = new PathFit(path, use.Count, use.Select(r => r.Granule).Distinct().Order().ToList(),
                LeastSquares(use, r => r.MapNs, mapSlope), LeastSquares(use, r => r.UnmapNs, unmapSlope));
            fits.Add(fit);
            return fit;
        }

        var strict = Line(BenchmarkPath.Strict, m.PteMapNs, m.PteUnmapNs + m.IotlbInvPageNs);
        var lazy = Line(BenchmarkPath.Lazy, m.PteMapNs, m.PteUnmapNs);
        var direct = Line(BenchmarkPath.Direct, 0, 0);
        var sources = new List<string> { $"calibrated by dmareplay calibrate from {name}" };

        if (strict is not null || lazy is not null)
        {
            var map = (strict ?? lazy)!.Map;
            m = m with { PteMapNs = R(map.Slope), IommuDmaMapNs = R(Math.Max(0, map.Intercept - m.IovaRcacheHitNs)) };
            if (strict is not null && lazy is not null)
            {
                m = m with
                {
                    IommuDmaUnmapNs = R(Math.Max(0, lazy.Unmap.Intercept)),
                    IotlbInvNs = R(Math.Max(0, strict.Unmap.Intercept - lazy.Unmap.Intercept)),
                    PteUnmapNs = R(Math.Max(0, lazy.Unmap.Slope)),
                    IotlbInvPageNs = R(Math.Max(0, strict.Unmap.Slope - lazy.Unmap.Slope)),
                };
            }
            else if (strict is not null)
            {
                var (fixedPart, invPart) = Split(strict.Unmap.Intercept, m.IommuDmaUnmapNs, m.IotlbInvNs);
                var (ptePart, invPagePart) = Split(strict.Unmap.Slope, m.PteUnmapNs, m.IotlbInvPageNs);
                m = m with { IommuDmaUnmapNs = R(fixedPart), IotlbInvNs = R(invPart), PteUnmapNs = R(ptePart), IotlbInvPageNs = R(invPagePart) };
                notes.Add($"strict runs only: the unmap's fixed and per-page parts are split between the unmap, the invalidation and the PTE clears in the ratio of preset {basePreset}; lazy runs as well would separate them");
            }
            else
            {
                m = m with { IommuDmaUnmapNs = R(Math.Max(0, lazy!.Unmap.Intercept)), PteUnmapNs = R(Math.Max(0, lazy.Unmap.Slope)) };
                notes.Add($"lazy runs only: iotlb_inv_ns and iotlb_inv_page_ns are kept from preset {basePreset}");
            }
            notes.Add($"iova_rcache_hit_ns is kept from preset {basePreset} (the benchmark's IOVA always comes from the range cache) and taken out of iommu_dma_map_ns");
        }
        if (direct is not null)
        {
            m = m with { DmaDirectMapNs = R(Math.Max(0, direct.Map.Intercept)), DmaDirectUnmapNs = R(Math.Max(0, direct.Unmap.Intercept)) };
            if (direct.Map.SlopeFitted && Math.Abs(direct.Map.Slope) > 1)
                notes.Add(string.Create(CultureInfo.InvariantCulture, $"runs without an IOMMU grow by {direct.Map.Slope:0.#} ns per page on map: bouncing (a 32-bit -b mask above 4 GiB of memory)? Not fitted"));
        }
        notes.Add("terms the runs cannot determine (sg entries, syncs, allocations, SWIOTLB, cache maintenance, walks) are kept from preset " + basePreset);
        var model = m with { Name = name, Sources = [.. sources, .. CostPresets.All[basePreset]().Sources.Select(s => $"{basePreset}: {s}")] };
        return new Calibration(model, basePreset, fits, notes);
    }

    /// <summary>Splits <paramref name="total"/> in the ratio a : b (all to the first when both are 0); never negative.</summary>
    private static (double A, double B) Split(double total, double a, double b)
    {
        total = Math.Max(0, total);
        if (a + b <= 0) return (total, 0);
        double first = total * a / (a + b);
        return (first, total - first);
    }

    private static double R(double v) => Math.Round(v, 2, MidpointRounding.AwayFromZero);

    /// <summary>Ordinary least squares of y on the granule; with one distinct granule the slope is <paramref name="fallbackSlope"/>.</summary>
    public static BenchmarkLine LeastSquares(IReadOnlyList<MapBenchmarkRun> runs, Func<MapBenchmarkRun, double> y, double fallbackSlope)
    {
        int n = runs.Count;
        double mx = runs.Average(r => (double)r.Granule), my = runs.Average(y);
        double sxx = runs.Sum(r => (r.Granule - mx) * (r.Granule - mx));
        bool fitted = sxx > 0;
        double slope = fitted ? runs.Sum(r => (r.Granule - mx) * (y(r) - my)) / sxx : fallbackSlope;
        double intercept = my - slope * mx;
        double rms = Math.Sqrt(runs.Sum(r => Math.Pow(y(r) - (intercept + slope * r.Granule), 2)) / n);
        return new BenchmarkLine(intercept, slope, rms, fitted);
    }
}
