using System.Text;
using System.Text.Json;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;
using DmaReplay.Engine.Summary;
using DmaReplay.Reports;
using DmaReplay.Reports.Html;
using DmaReplay.Reports.Json;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Reports;

/// <summary>
/// What a replay adds to the reports: summary.json's "agreement", "swiotlb" and "platform" keys
/// (a contract), the replay CSV tables and the HTML sections; and that a check adds none of them.
/// </summary>
[TestClass]
public sealed class ReplayReportTests
{
    private static readonly string[] ReplayCsvFiles =
        ["agreement.csv", "mismatches.csv", "swiotlb-areas.csv", "swiotlb-devices.csv", "swiotlb-timeline.csv", "iommu-domains.csv"];

    private static readonly Lazy<RunSummary> RealReplay = new(() =>
    {
        var bundle = CaptureBundle.Load(TestPaths.RealBundle("dev-swiotlb-force-2m"));
        return new ReplayRun(new CheckOptions()).Run("trace", bundle.TracePath, bundle.Platform, bundle.Facts, true);
    });

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Json_of_a_real_replay_has_the_contract_keys_and_the_kernels_numbers()
    {
        using var doc = Json(RealReplay.Value);
        var root = doc.RootElement;
        CollectionAssert.AreEqual(new[] { "tool", "inputs", "devices", "findings", "findingCounts", "agreement", "swiotlb", "pools", "platform" }, Keys(root));

        var agreement = root.GetProperty("agreement");
        CollectionAssert.AreEqual(new[] { "direct", "swiotlb", "iommu", "failures", "mismatchCount", "mismatches", "iommuPageTable" }, Keys(agreement));
        CollectionAssert.AreEqual(new[] { "compared", "exact" }, Keys(agreement.GetProperty("direct")));
        CollectionAssert.AreEqual(new[] { "compared", "exact" }, Keys(agreement.GetProperty("swiotlb")));
        CollectionAssert.AreEqual(new[] { "recorded", "predicted", "matched" }, Keys(agreement.GetProperty("failures")));
        Assert.AreEqual(9982, agreement.GetProperty("swiotlb").GetProperty("compared").GetInt64());
        Assert.AreEqual(9982, agreement.GetProperty("swiotlb").GetProperty("exact").GetInt64());
        Assert.AreEqual(4, agreement.GetProperty("failures").GetProperty("recorded").GetInt64());
        Assert.AreEqual(4, agreement.GetProperty("failures").GetProperty("predicted").GetInt64());
        Assert.AreEqual(4, agreement.GetProperty("failures").GetProperty("matched").GetInt64());
        Assert.AreEqual(0, agreement.GetProperty("mismatchCount").GetInt64());
        Assert.AreEqual(0, agreement.GetProperty("mismatches").GetArrayLength());

        var swiotlb = root.GetProperty("swiotlb");
        CollectionAssert.AreEqual(new[]
        {
            "poolStart", "poolSource", "nslabs", "nareas", "force", "usedAtEnd", "recordedUsedAtEnd", "usedHiwater",
            "recordedHiwater", "mapFailures", "bouncedBytes", "bounceCopies", "searches", "searchSteps", "maxSearchSteps",
            "areas", "devices",
        }, Keys(swiotlb));
        CollectionAssert.AreEqual(new[] { "toDevice", "fromDevice", "byOperation" }, Keys(swiotlb.GetProperty("bouncedBytes")));
        CollectionAssert.AreEqual(new[] { "map", "unmap", "syncForDevice", "syncForCpu" },
            Keys(swiotlb.GetProperty("bouncedBytes").GetProperty("byOperation")));
        Assert.AreEqual("0x78a00000", swiotlb.GetProperty("poolStart").GetString());
        Assert.AreEqual(1024, swiotlb.GetProperty("nslabs").GetInt32());
        Assert.AreEqual(2, swiotlb.GetProperty("nareas").GetInt32());
        Assert.IsTrue(swiotlb.GetProperty("force").GetBoolean());
        Assert.AreEqual(1022, swiotlb.GetProperty("usedHiwater").GetInt64());
        Assert.AreEqual(1022, swiotlb.GetProperty("recordedHiwater").GetInt64());
        Assert.AreEqual(swiotlb.GetProperty("recordedUsedAtEnd").GetInt64(), swiotlb.GetProperty("usedAtEnd").GetInt64());
        Assert.AreEqual(4, swiotlb.GetProperty("mapFailures").GetInt64());

        var areas = swiotlb.GetProperty("areas");
        Assert.AreEqual(2, areas.GetArrayLength());
        CollectionAssert.AreEqual(new[] { "area", "used", "index", "recordedUsed", "recordedIndex" }, Keys(areas[0]));
        Assert.AreEqual(488, areas[0].GetProperty("used").GetInt32());
        Assert.AreEqual(127, areas[0].GetProperty("index").GetInt32());
        Assert.AreEqual(0, areas[1].GetProperty("used").GetInt32());
        Assert.AreEqual(53, areas[1].GetProperty("index").GetInt32());
        Assert.AreEqual(488, areas[0].GetProperty("recordedUsed").GetInt32());
        Assert.AreEqual(53, areas[1].GetProperty("recordedIndex").GetInt32());

        var devices = swiotlb.GetProperty("devices");
        Assert.IsGreaterThan(0, devices.GetArrayLength());
        CollectionAssert.AreEqual(new[] { "device", "bounces", "failures", "bytesToDevice", "bytesFromDevice", "peakSlots" }, Keys(devices[0]));
        Assert.AreEqual(4, devices.EnumerateArray().Sum(d => d.GetProperty("failures").GetInt64()));

        var platform = root.GetProperty("platform");
        CollectionAssert.AreEqual(new[] { "name", "captureOwn", "cpus", "provenance" }, Keys(platform));
        Assert.AreEqual("dev-swiotlb-force-2m", platform.GetProperty("name").GetString());
        Assert.IsTrue(platform.GetProperty("captureOwn").GetBoolean());
        Assert.AreEqual(2, platform.GetProperty("cpus").GetInt32());
        Assert.IsGreaterThan(0, platform.GetProperty("provenance").GetArrayLength());

        Assert.DoesNotContain("\"slotsInUse\"", Encoding.UTF8.GetString(JsonBytes(RealReplay.Value)), "no time series in JSON");
    }

    [TestMethod]
    public void Json_mismatches_and_nullable_recorded_values_use_the_contract_keys()
    {
        using var doc = Json(SampleSummary.CreateReplay());
        var mismatch = doc.RootElement.GetProperty("agreement").GetProperty("mismatches")[0];
        CollectionAssert.AreEqual(new[] { "input", "line", "kind", "device", "physAddr", "size", "recorded", "predicted" }, Keys(mismatch));
        Assert.AreEqual(SampleSummary.BoldDevice, mismatch.GetProperty("device").GetString());
        Assert.AreEqual("0x12345000", mismatch.GetProperty("physAddr").GetString());
        Assert.AreEqual("0xfff00000", mismatch.GetProperty("predicted").GetString());
        var area1 = doc.RootElement.GetProperty("swiotlb").GetProperty("areas")[1];
        Assert.AreEqual(JsonValueKind.Null, area1.GetProperty("recordedUsed").ValueKind);
        Assert.AreEqual(JsonValueKind.Null, area1.GetProperty("recordedIndex").ValueKind);
    }

    [TestMethod]
    public void Replay_without_swiotlb_writes_null_and_header_only_tables()
    {
        var summary = SampleSummary.CreateReplayWithoutSwiotlb();
        using var doc = Json(summary);
        Assert.AreEqual(JsonValueKind.Null, doc.RootElement.GetProperty("swiotlb").ValueKind);
        Assert.AreEqual(JsonValueKind.Object, doc.RootElement.GetProperty("agreement").ValueKind);

        var dir = Export(summary);
        foreach (var file in new[] { "swiotlb-areas.csv", "swiotlb-devices.csv", "swiotlb-timeline.csv" })
        {
            Assert.AreEqual(1, File.ReadAllText(Path.Combine(dir, file)).Count(c => c == '\n'), file);
        }
        Assert.AreEqual("time_s,slots_in_use_max,slots_in_use_min,failures,largest_free_run\n",
            File.ReadAllText(Path.Combine(dir, "swiotlb-timeline.csv")));
        Assert.AreEqual(2, File.ReadAllLines(Path.Combine(dir, "mismatches.csv")).Length);
        Assert.Contains("The replayed platform has no SWIOTLB pool", HtmlExporter.Render(summary));
    }

    [TestMethod]
    public void Timeline_rows_follow_the_used_series_and_leave_missing_buckets_blank()
    {
        var dir = Export(SampleSummary.CreateReplay());
        string[] expected =
        [
            "time_s,slots_in_use_max,slots_in_use_min,area_0_max,area_1_max,failures,largest_free_run",
            "1.500000,4,0,4,0,0,124",
            "2.000000,130,4,70,60,1,0",
            "2.500000,130,60,70,,2,66",
            "3.000000,62,60,62,,,",
        ];
        CollectionAssert.AreEqual(expected, File.ReadAllLines(Path.Combine(dir, "swiotlb-timeline.csv")));
        CollectionAssert.AreEqual(new[] { "kind,compared,exact,recorded,predicted,matched", "direct,120,119,,,", "swiotlb,40,40,,,", "iommu,30,27,,,", "failures,,,2,3,2", "iommu_page_table,50,49,,," },
            File.ReadAllLines(Path.Combine(dir, "agreement.csv")));
    }

    [TestMethod]
    public void Json_iommu_section_follows_swiotlb_and_has_the_contract_keys()
    {
        using var doc = Json(SampleSummary.CreateReplay());
        var root = doc.RootElement;
        CollectionAssert.AreEqual(new[] { "tool", "inputs", "devices", "findings", "findingCounts", "agreement", "swiotlb", "iommu", "platform" }, Keys(root));
        var iommu = root.GetProperty("iommu");
        CollectionAssert.AreEqual(new[] { "granule", "dacFallbacks", "bounces", "domains" }, Keys(iommu));
        var strict = iommu.GetProperty("domains")[0];
        CollectionAssert.AreEqual(new[]
        {
            "domain", "mode", "devices", "allocations", "rcacheHits", "treeAllocations", "failures", "rcacheFlushes", "peakMappedBytes",
            "peakHeldBytes", "lowestIova", "mappedAtEndBytes", "timerFlushes", "fullQueueFlushes", "witnessedFlushes", "migratedFlushes",
            "depotPushes", "depotTrims", "hardware",
        }, Keys(strict));
        CollectionAssert.AreEqual(new[]
        {
            "iotlb", "iotlbEntries", "iotlbWays", "lookups", "hits", "misses", "hitRate", "pageWalks", "walkLevelsRead",
            "invalidations", "invalidatedPages", "pageTablePagesPeak", "pageTablePagesAtEnd", "largePageMaps",
        }, Keys(strict.GetProperty("hardware")));
        Assert.AreEqual("0xfff00000", strict.GetProperty("lowestIova").GetString());
        Assert.AreEqual(SampleSummary.BoldDevice, strict.GetProperty("devices")[0].GetString());
        var lazy = iommu.GetProperty("domains")[1];
        Assert.AreEqual(JsonValueKind.Null, lazy.GetProperty("lowestIova").ValueKind);
        Assert.AreEqual(JsonValueKind.Null, lazy.GetProperty("hardware").ValueKind);
        var pt = root.GetProperty("agreement").GetProperty("iommuPageTable");
        CollectionAssert.AreEqual(new[] { "compared", "exact", "notCompared" }, Keys(pt));

        using var none = Json(SampleSummary.CreateReplayWithoutSwiotlb());
        Assert.IsFalse(none.RootElement.TryGetProperty("iommu", out _), "no IOMMU report, no key");

        var csv = File.ReadAllLines(Path.Combine(Export(SampleSummary.CreateReplay()), "iommu-domains.csv"));
        Assert.AreEqual(3, csv.Length);
        Assert.StartsWith("domain,mode,devices,allocations,", csv[0]);
        Assert.StartsWith("group <i>5</i>,lazy,\"'" + SampleSummary.FormulaDevice + "\",", csv[2], "the formula guard quotes a device list starting with =");
    }

    [TestMethod]
    public void Html_replay_sections_escape_trace_strings()
    {
        var html = HtmlExporter.Render(SampleSummary.CreateReplay());
        Assert.Contains("<section id=\"replay\">", html);
        Assert.Contains("<section id=\"swiotlb\">", html);
        Assert.IsLessThan(html.IndexOf("<section id=\"replay\">"), html.IndexOf("<section id=\"inputs\">"), "Replay comes after Inputs");
        Assert.DoesNotContain("<b>", html);
        Assert.Contains("from &lt;b&gt;meta.json&lt;/b&gt; &amp; cmdline", html);
        Assert.Contains("<td>&lt;b&gt;nvme&lt;/b&gt;</td>", html);
        Assert.Contains("qemu &lt;b&gt;what-if&lt;/b&gt;", html);
        Assert.Contains("<td>dma-direct</td><td class=\"num\">119</td><td class=\"num\">120</td><td>99.16%</td>", html);
        Assert.Contains("<td>IOMMU (IOVA)</td><td class=\"num\">27</td><td class=\"num\">30</td><td>90.00%</td>", html);
        Assert.Contains("kernel: 131, differs", html);
        Assert.Contains("<section id=\"iommu\">", html);
        Assert.Contains("<td>group &lt;i&gt;5&lt;/i&gt;</td>", html);
        Assert.Contains("nslabs 256", html, "the pool's size is a reference line");
        Assert.Contains("stroke-dasharray=\"6 4\"><title>total</title>", html, "the total is dashed");
    }

    [TestMethod]
    public void Check_summary_gets_none_of_the_replay_output()
    {
        var summary = SampleSummary.Create();
        Assert.IsNull(summary.Replay);
        var dir = Export(summary);
        foreach (var file in ReplayCsvFiles) Assert.IsFalse(File.Exists(Path.Combine(dir, file)), file);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, JsonExporter.FileName)));
        CollectionAssert.AreEqual(new[] { "tool", "inputs", "devices", "findings", "findingCounts" }, Keys(doc.RootElement));

        var html = File.ReadAllText(Path.Combine(dir, HtmlExporter.FileName));
        foreach (var marker in new[] { "id=\"replay\"", "id=\"swiotlb\"", "id=\"iommu\"", ".figures", "Agreement", "SWIOTLB" })
        {
            Assert.DoesNotContain(marker, html, marker);
        }
    }

    private static byte[] JsonBytes(RunSummary summary)
    {
        using var stream = new MemoryStream();
        JsonExporter.Write(summary, stream);
        return stream.ToArray();
    }

    private static JsonDocument Json(RunSummary summary) => JsonDocument.Parse(JsonBytes(summary));

    private static string[] Keys(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();

    private string Export(RunSummary summary)
    {
        var dir = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "replay-reports-" + Guid.NewGuid().ToString("N"));
        foreach (var exporter in ReportExporters.All) exporter.Export(summary, dir);
        return dir;
    }
}
