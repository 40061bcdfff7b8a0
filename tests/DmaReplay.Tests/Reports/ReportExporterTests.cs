using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using DmaReplay.Engine.Summary;
using DmaReplay.Reports;
using DmaReplay.Reports.Csv;
using DmaReplay.Reports.Html;
using DmaReplay.Reports.Json;
using DmaReplay.Reports.Tables;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Reports;

[TestClass]
public sealed class ReportExporterTests
{
    private static readonly string[] CsvFiles =
        ["inputs.csv", "event-counts.csv", "skipped.csv", "devices.csv", "diagnostics.csv", "findings.csv"];

    private static readonly string[] ReplayCsvFiles =
        ["agreement.csv", "mismatches.csv", "swiotlb-areas.csv", "swiotlb-devices.csv", "swiotlb-timeline.csv", "iommu-domains.csv"];

    private static readonly string[] GoldenFiles = [.. CsvFiles, HtmlExporter.FileName, JsonExporter.FileName];

    private static readonly string[] ReplayGoldenFiles = [.. GoldenFiles, .. ReplayCsvFiles];

    /// <summary>The samples by name: a check run and a replay, each with its own golden folder.</summary>
    private static (RunSummary Summary, string[] Files, string GoldenDir) Sample(string name) => name switch
    {
        "check" => (SampleSummary.Create(), GoldenFiles, "Golden"),
        "replay" => (SampleSummary.CreateReplay(), ReplayGoldenFiles, Path.Combine("Golden", "replay")),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Exporters_are_registered_in_order()
    {
        CollectionAssert.AreEqual(new[] { "json", "csv", "html" }, ReportExporters.All.Select(e => e.Format).ToArray());
        Assert.IsInstanceOfType<CsvExporter>(ReportExporters.Find("CSV"));
        Assert.IsInstanceOfType<HtmlExporter>(ReportExporters.Find("html"));
    }

    [TestMethod]
    public void Html_escapes_every_trace_string()
    {
        var html = HtmlExporter.Render(SampleSummary.Create());

        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(SampleSummary.ScriptDevice, html);
        Assert.Contains("dma_map_page: dev=&amp;&lt;&gt;&quot;&#39; addr=zz", html);
        Assert.DoesNotContain(SampleSummary.SpecialExcerpt, html);
        Assert.Contains("traces/nvme &amp; net.txt", html);
        Assert.DoesNotContain("nvme & net", html);
    }

    [TestMethod]
    [DataRow("check")]
    [DataRow("replay")]
    public void Html_is_self_contained(string sample)
    {
        var html = HtmlExporter.Render(Sample(sample).Summary);
        const string svgNamespace = "xmlns=\"http://www.w3.org/2000/svg\"";
        Assert.Contains(svgNamespace, html);

        // The diagnostic excerpt holds an http:// URL; escaped text is fine, so only look at markup.
        var markup = html.Replace(svgNamespace, "").Replace("=HYPERLINK(&quot;http://x&quot;)", "");
        foreach (var banned in new[] { "http://", "https://", "src=", "href=", "url(", "@import", "<link", "<img", "<iframe", "<object" })
        {
            Assert.DoesNotContain(banned, markup, StringComparison.OrdinalIgnoreCase, $"found {banned}");
        }
    }

    [TestMethod]
    public void Html_has_chart_legend_and_grouped_findings()
    {
        var html = HtmlExporter.Render(SampleSummary.Create());

        Assert.Contains("<svg xmlns=", html);
        Assert.Contains("<span class=\"name\">0000:00:02.0</span>", html);
        Assert.Contains("<span class=\"name\">&lt;script&gt;alert(1)&lt;/script&gt;</span>", html);
        Assert.Contains("Not drawn, no mappings: 0000:00:1f.2", html);
        Assert.Contains("<circle", html, "a single series point gets a marker");
        // Two unmap-without-map findings share device and innermost frame: one row, count 2.
        Assert.Contains("<td>unmap-without-map</td><td>warning</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>nvme_unmap_data</td><td class=\"num\">2</td>", html);
        Assert.Contains("Could not read this input: No such file or directory", html);
        Assert.Contains("traces/nvme &amp; net.txt:17", html);
    }

    [TestMethod]
    public void Empty_summary_writes_headers_and_placeholders()
    {
        var dir = Export(SampleSummary.Empty(), "empty");
        foreach (var file in CsvFiles)
        {
            var text = File.ReadAllText(Path.Combine(dir, file));
            Assert.AreEqual(1, text.Count(c => c == '\n'), file);
            Assert.IsTrue(text.EndsWith('\n') && !text.Contains('\r'), file);
        }
        var html = File.ReadAllText(Path.Combine(dir, HtmlExporter.FileName));
        Assert.Contains("No findings.", html);
        Assert.Contains("No diagnostics.", html);
    }

    [TestMethod]
    public void Csv_escapes_formulas_but_not_numbers()
    {
        var dir = Export(SampleSummary.CreateReplay(), "csv");
        int checkedCells = 0;
        foreach (var file in CsvFiles.Concat(ReplayCsvFiles))
        {
            foreach (var row in CsvRows.Read(Path.Combine(dir, file)))
            {
                foreach (var cell in row)
                {
                    if (cell.Length == 0 || "=+-@\t\r".IndexOf(cell[0]) < 0) continue;
                    Assert.IsTrue(long.TryParse(cell, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                        $"{file}: unescaped formula-like cell {cell}");
                    checkedCells++;
                }
            }
        }
        Assert.IsGreaterThan(0, checkedCells, "the sample must hold a negative number");

        var findings = CsvRows.Read(Path.Combine(dir, "findings.csv"));
        var header = findings[0].ToList();
        string Get(int row, string column) => findings[row][header.IndexOf(column)];
        Assert.AreEqual("'" + SampleSummary.FormulaTask, Get(1, "task"));
        Assert.AreEqual("-1", Get(1, "pid"));
        Assert.AreEqual("'-second unmap of 0x1000", Get(2, "message"));
        Assert.AreEqual("'@kworker/0:1", Get(2, "task"));
        Assert.AreEqual("'+irq/24-nvme0q1", Get(3, "task"));
        Assert.AreEqual("0xdead0000", Get(1, "dmaAddr"));
        Assert.AreEqual("dma_unmap_page_attrs <- nvme_unmap_data <- nvme_pci_complete_rq", Get(1, "stack"));
        Assert.AreEqual("", Get(2, "relatedLine"));

        var devices = CsvRows.Read(Path.Combine(dir, "swiotlb-devices.csv"));
        Assert.AreEqual("'" + SampleSummary.FormulaDevice, devices[2][0]);
        Assert.AreEqual(SampleSummary.BoldDevice, devices[1][0]);

        var diagnostics = CsvRows.Read(Path.Combine(dir, "diagnostics.csv"));
        Assert.AreEqual("'=HYPERLINK(\"http://x\")", diagnostics[2][4]);
        Assert.AreEqual(SampleSummary.SpecialExcerpt, diagnostics[1][4]);
    }

    /// <summary>
    /// findings.csv gets a last column "pool" only when a finding names a pool: the goldens (no pool
    /// findings) keep their columns, and the columns before it keep their places.
    /// </summary>
    [TestMethod]
    public void Findings_table_has_a_pool_column_only_when_a_finding_names_a_pool()
    {
        var findings = SampleSummary.Create().Findings;
        var without = ReportTables.Findings(findings);
        Assert.AreEqual("relatedStack", without.Columns[^1].Key);
        Assert.HasCount(18, without.Columns);

        var withPool = ReportTables.Findings([.. findings, findings[1] with { Rule = "pool-double-free", Pool = "=xHCI ring, segments" }]);
        CollectionAssert.AreEqual(without.Columns.Select(c => c.Key).Append("pool").ToArray(), withPool.Columns.Select(c => c.Key).ToArray());
        CollectionAssert.AreEqual(new string?[] { null, null, null, "=xHCI ring, segments" }, withPool.Rows.Select(r => r[^1].Text).ToArray());

        var dir = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "pool-column-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "findings.csv");
        using (var writer = CsvHelper.CsvWriter.ToFile(path, CsvExporter.Options)) CsvExporter.Write(writer, withPool);
        var rows = CsvRows.Read(path);
        Assert.AreEqual("'=xHCI ring, segments", rows[4][^1], "guarded against formula injection like every text cell");
        Assert.AreEqual("", rows[1][^1]);
    }

    [TestMethod]
    [DataRow("check")]
    [DataRow("replay")]
    public void Output_matches_golden_files(string sample)
    {
        var (summary, files, golden) = Sample(sample);
        var dir = Export(summary, "golden-" + sample);
        if (Environment.GetEnvironmentVariable("DMAREPLAY_UPDATE_GOLDEN") == "1")
        {
            var source = Path.Combine(SourceReportsDir(), golden);
            Directory.CreateDirectory(source);
            foreach (var file in files) File.Copy(Path.Combine(dir, file), Path.Combine(source, file), overwrite: true);
            Assert.Inconclusive("golden files rewritten; review them and rerun without DMAREPLAY_UPDATE_GOLDEN");
        }
        CollectionAssert.AreEquivalent(files, Directory.GetFiles(dir).Select(Path.GetFileName).ToArray(), "the files written");
        var goldenDir = Path.Combine(AppContext.BaseDirectory, "Reports", golden);
        foreach (var file in files)
        {
            var expected = File.ReadAllBytes(Path.Combine(goldenDir, file));
            var actual = File.ReadAllBytes(Path.Combine(dir, file));
            Assert.AreEqual(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(actual), file);
            CollectionAssert.AreEqual(expected, actual, file);
        }
    }

    [TestMethod]
    [DataRow("de-DE", "check")]
    [DataRow("sv-SE", "check")]
    [DataRow("de-DE", "replay")]
    public void Output_does_not_depend_on_the_culture(string cultureName, string sample)
    {
        var (summary, files, _) = Sample(sample);
        var culture = new CultureInfo(cultureName);
        // Not vacuous: the culture really writes numbers differently from the invariant one.
        Assert.AreEqual(",", culture.NumberFormat.NumberDecimalSeparator, cultureName);
        Assert.AreEqual("1,5", 1.5.ToString(culture));

        var invariantDir = Export(summary, "invariant-" + cultureName);
        var saved = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        string localDir;
        try
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = culture;
            localDir = Export(summary, cultureName);
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = saved;
        }
        foreach (var file in files)
        {
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(invariantDir, file)),
                File.ReadAllBytes(Path.Combine(localDir, file)), $"{file} under {cultureName}");
        }
    }

    private string Export(RunSummary summary, string name)
    {
        var dir = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "reports-" + name + "-" + Guid.NewGuid().ToString("N"));
        foreach (var exporter in ReportExporters.All) exporter.Export(summary, dir);
        return dir;
    }

    private static string SourceReportsDir([CallerFilePath] string source = "") => Path.GetDirectoryName(source)!;
}
