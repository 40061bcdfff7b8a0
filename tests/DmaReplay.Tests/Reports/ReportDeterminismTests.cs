using System.Diagnostics;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Reports;

/// <summary>
/// A replay with pools, cache coherency and a cost model writes the same bytes every time: once
/// in this process and once in a new one (string hashes are seeded per process, so an order taken
/// from a hash table would differ there).
/// </summary>
[TestClass]
public sealed class ReportDeterminismTests
{
    public static IEnumerable<object[]> Runs =>
    [
        // dma_pools, managed allocations and unbinds, non-coherent devices, a cost model: 21 CSVs, summary.json, report.html
        ["pools.trace", new[] { "--platform", "arm64-noncoherent-soc", "--cost", "arm64-smmuv3" }, 23],
        // atomic pools growing and failing on an encrypted guest (no coherency tables)
        ["atomic-pool-pressure.trace", new[] { "--platform", "x86-64-sev-guest", "--cost", "x86-vtd" }, 21],
        // variants side by side
        ["pools.trace", new[] { "--platform", "arm64-noncoherent-soc", "--cost", "arm64-smmuv3", "--compare", "iommu.mode=strict,lazy" }, 3],
        // the hostile names
        ["hostile", HostileTrace.ReplayOptions, 24],
    ];

    [TestMethod]
    [DynamicData(nameof(Runs))]
    [Timeout(300_000, CooperativeCancellation = true)]
    public void Two_replays_write_identical_reports(string trace, string[] options, int files)
    {
        var input = trace == "hostile" ? HostileTrace.FilePath : TestPaths.Traces("synthetic", trace);
        string[] args = ["replay", input, .. options, "--fail-on", "none"];

        var here = CliHarness.NewDir();
        var (code, _, err) = CliHarness.Run([.. args, "--out", here]);
        Assert.AreEqual(0, code, err);

        var there = CliHarness.NewDir();
        var psi = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "dmareplay.dll"), .. args, "--out", there])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using (var p = Process.Start(psi)!)
        {
            p.StandardOutput.ReadToEnd();
            string stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.AreEqual(0, p.ExitCode, stderr);
        }

        var names = Directory.GetFiles(here).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        CollectionAssert.AreEqual(names, Directory.GetFiles(there).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
        Assert.HasCount(files, names);
        foreach (var name in names)
        {
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(here, name!)), File.ReadAllBytes(Path.Combine(there, name!)), name);
        }
    }
}
