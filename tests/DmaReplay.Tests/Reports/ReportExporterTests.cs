using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using CsvHelper;
using DmaReplay.Engine.Summary;
using DmaReplay.Reports;
using DmaReplay.Reports.Csv;
using DmaReplay.Reports.Html;

namespace DmaReplay.Tests.Reports;

[TestClass]
public sealed class ReportExporterTests
{
    private static readonly string[] CsvFiles =
        ["inputs.csv", "event-counts.csv", "skipped.csv", "devices.csv", "diagnostics.csv", "findings.csv"];

    private static readonly string[] GoldenFiles = [.. CsvFiles, HtmlExporter.FileName];

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
    public void Html_is_self_contained()
    {
        var html = HtmlExporter.Render(SampleSummary.Create());
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
        var dir = Export(SampleSummary.Create(), "csv");
        int checkedCells = 0;
        foreach (var file in CsvFiles)
        {
            foreach (var row in ReadCsv(Path.Combine(dir, file)))
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

        var findings = ReadCsv(Path.Combine(dir, "findings.csv"));
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

        var diagnostics = ReadCsv(Path.Combine(dir, "diagnostics.csv"));
        Assert.AreEqual("'=HYPERLINK(\"http://x\")", diagnostics[2][4]);
        Assert.AreEqual(SampleSummary.SpecialExcerpt, diagnostics[1][4]);
    }

    [TestMethod]
    public void Output_matches_golden_files()
    {
        var dir = Export(SampleSummary.Create(), "golden");
        if (Environment.GetEnvironmentVariable("DMAREPLAY_UPDATE_GOLDEN") == "1")
        {
            foreach (var file in GoldenFiles) File.Copy(Path.Combine(dir, file), Path.Combine(SourceGoldenDir(), file), overwrite: true);
            Assert.Inconclusive("golden files rewritten; review them and rerun without DMAREPLAY_UPDATE_GOLDEN");
        }
        var goldenDir = Path.Combine(AppContext.BaseDirectory, "Reports", "Golden");
        foreach (var file in GoldenFiles)
        {
            var expected = File.ReadAllBytes(Path.Combine(goldenDir, file));
            var actual = File.ReadAllBytes(Path.Combine(dir, file));
            Assert.AreEqual(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(actual), file);
            CollectionAssert.AreEqual(expected, actual, file);
        }
    }

    [TestMethod]
    [DataRow("de-DE")]
    [DataRow("sv-SE")]
    public void Output_does_not_depend_on_the_culture(string cultureName)
    {
        var culture = new CultureInfo(cultureName);
        // Not vacuous: the culture really writes numbers differently from the invariant one.
        Assert.AreEqual(",", culture.NumberFormat.NumberDecimalSeparator, cultureName);
        Assert.AreEqual("1,5", 1.5.ToString(culture));

        var invariantDir = Export(SampleSummary.Create(), "invariant-" + cultureName);
        var saved = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        string localDir;
        try
        {
            CultureInfo.CurrentCulture = culture;
            CultureInfo.CurrentUICulture = culture;
            localDir = Export(SampleSummary.Create(), cultureName);
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = saved;
        }
        foreach (var file in GoldenFiles)
        {
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(invariantDir, file)),
                File.ReadAllBytes(Path.Combine(localDir, file)), $"{file} under {cultureName}");
        }
    }

    private string Export(RunSummary summary, string name)
    {
        var dir = Path.Combine(TestContext.TestRunDirectory ?? Path.GetTempPath(), "reports-" + name + "-" + Guid.NewGuid().ToString("N"));
        new CsvExporter().Export(summary, dir);
        new HtmlExporter().Export(summary, dir);
        return dir;
    }

    private static List<string[]> ReadCsv(string path)
    {
        using var reader = CsvReader.FromFile(path, CsvReaderOptions.Default with { HasHeader = false });
        var rows = new List<string[]>();
        foreach (var row in reader) rows.Add(row.ToArray());
        return rows;
    }

    private static string SourceGoldenDir([CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Golden");
}
