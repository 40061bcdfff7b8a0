using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Pools;
using DmaReplay.Engine.Replay;
using DmaReplay.Engine.Summary;
using DmaReplay.Reports.Csv;
using DmaReplay.Reports.Html;
using DmaReplay.Reports.Tables;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Reports;

/// <summary>
/// agreement.csv and report.html's agreement tables carry the allocators' figures of summary.json
/// (dma_pool blocks, device or global coherent memory, atomic pools, allocation failures) where
/// they compared something, and nothing more where they did not.
/// </summary>
[TestClass]
public sealed class PoolAgreementReportTests
{
    private const string Header = "kind,compared,exact,recorded,predicted,matched";

    private static RunSummary Replay(string name, PlatformModel platform) =>
        new ReplayRun(new CheckOptions()).Run(name, TestPaths.Traces("synthetic", name), platform, null, captureOwn: false);

    private static string[] AgreementCsv(RunSummary summary)
    {
        var dir = CliHarness.NewDir();
        new CsvExporter().Export(summary, dir);
        return File.ReadAllLines(Path.Combine(dir, "agreement.csv"));
    }

    [TestMethod]
    public void Atomic_pool_addresses_and_allocation_failures_are_rows_of_the_agreement()
    {
        var summary = Replay("atomic-pool-pressure.trace", PlatformPresets.X86SevGuest());
        CollectionAssert.AreEqual(new[]
        {
            Header, "direct,0,0,,,", "swiotlb,2003,0,,,", "iommu,0,0,,,", "failures,,,0,3,0",
            "atomic_pool,624,624,,,", "allocation_failures,,,89,89,89",
        }, AgreementCsv(summary));
        var html = HtmlExporter.Render(summary);
        Assert.Contains("<tr><td>Atomic pools</td><td class=\"num\">624</td><td class=\"num\">624</td><td>100.00%</td></tr>", html);
        Assert.Contains("<tr><td>Allocation failures</td><td class=\"num\">89</td><td class=\"num\">89</td><td class=\"num\">89</td></tr>", html);
        Assert.DoesNotContain("dma_pool blocks", html);
        Assert.DoesNotContain("Device/global coherent memory", html);
    }

    [TestMethod]
    public void Every_allocator_row_follows_the_summary_keys_in_order()
    {
        var a = new AgreementReport(new Tally(5, 5), new Tally(0, 0), new Tally(0, 0), new FailureTally(0, 0, 0), 0, []);
        var pools = new PoolsReport(1 << 20, 0, [], [], [], new FailureTally(0, 2, 0), new Tally(53, 53), new Tally(7, 6), new Tally(3, 3));
        var rows = ReplayTables.Agreement(a, pools).Rows.Select(r => string.Join(",", r.Select(c => c.Integer?.ToString() ?? c.Text))).ToList();
        CollectionAssert.AreEqual(new[]
        {
            "direct,5,5,,,", "swiotlb,0,0,,,", "iommu,0,0,,,", "failures,,,0,0,0",
            "dma_pool,53,53,,,", "dev_coherent,7,6,,,", "atomic_pool,3,3,,,", "allocation_failures,,,0,2,0",
        }, rows);
        Assert.IsTrue(pools.AllocationFailuresCompared);
        Assert.IsTrue((pools with { DmaPoolAgreement = null, DevCoherentAgreement = null, AtomicPoolAgreement = null }).AllocationFailuresCompared,
            "a predicted failure is a comparison");
    }

    [TestMethod]
    public void Allocations_from_the_page_allocator_add_no_row()
    {
        // correct.trace allocates (summary.json has "pools") but no allocator decided an address and nothing failed
        var summary = Replay("correct.trace", PlatformPresets.X86Default());
        var pools = summary.Replay!.Pools!;
        Assert.IsGreaterThan(0, pools.Sources.Count);
        Assert.IsFalse(pools.AllocationFailuresCompared);
        CollectionAssert.AreEqual(new[] { Header, "direct,1702,1702,,,", "swiotlb,0,0,,,", "iommu,0,0,,,", "failures,,,0,0,0" }, AgreementCsv(summary));
        var html = HtmlExporter.Render(summary);
        Assert.DoesNotContain("<td>Allocation failures</td>", html);
        Assert.Contains("<tbody>\n<tr><td>Map failures</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">0</td></tr>\n</tbody>", html);
    }
}
