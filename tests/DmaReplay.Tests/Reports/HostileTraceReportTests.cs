using System.Globalization;
using System.Text.RegularExpressions;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Reports;

/// <summary>
/// The command line's reports of <see cref="HostileTrace"/>: every section a replay can write
/// (coherency, cost, pools, findings; compare) escapes the trace's strings in HTML and guards them
/// against formula injection in CSV, and no page fetches anything.
/// </summary>
[TestClass]
public sealed class HostileTraceReportTests
{
    // WebUtility.HtmlEncode of the HostileTrace strings, spelled out
    private const string Device = "&lt;script&gt;alert(&quot;dev&amp;&#39;q&quot;)&lt;/script&gt;";
    private const string Pool = "&lt;script&gt;pool &amp; &quot;q&quot; &#39;x&#39;&lt;/script&gt;";
    private const string FenceName = "&lt;script&gt;drv&lt;/script&gt;:tl&amp;&quot;x&quot;&#39;y&#39;";

    private static readonly Lazy<string> ReplayDir = new(() => Run("replay", HostileTrace.ReplayOptions));
    private static readonly Lazy<string> CompareDir = new(() => Run("replay", HostileTrace.CompareOptions));
    private static readonly Lazy<string> CheckDir = new(() => Run("check", []));

    private static string Run(string verb, string[] options)
    {
        var dir = CliHarness.NewDir();
        var (code, _, err) = CliHarness.Run([verb, HostileTrace.FilePath, .. options, "--out", dir]);
        Assert.AreEqual(1, code, "error findings (pool rules, leak-at-unbind) and no failure: " + err);
        return dir;
    }

    private static string Dir(string run) => run switch
    {
        "replay" => ReplayDir.Value,
        "compare" => CompareDir.Value,
        "check" => CheckDir.Value,
        _ => throw new ArgumentOutOfRangeException(nameof(run)),
    };

    private static string Html(string run) => File.ReadAllText(Path.Combine(Dir(run), run == "compare" ? "compare.html" : "report.html"));

    private static string Section(string html, string id)
    {
        var m = Regex.Match(html, "<section id=\"" + id + "\">(.*?)</section>", RegexOptions.Singleline);
        Assert.IsTrue(m.Success, "no section " + id);
        return m.Groups[1].Value;
    }

    private static void AssertNothingRaw(string html)
    {
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("alert(\"", html);
        Assert.DoesNotContain("pool & \"q\"", html);
        Assert.DoesNotContain("tl&\"x\"", html);
        Assert.DoesNotContain("'q\")", html);
    }

    [TestMethod]
    public void Replay_html_escapes_device_pool_and_fence_names_in_every_section()
    {
        var html = Html("replay");
        AssertNothingRaw(html);

        var num = (string n) => "<td class=\"num\">" + n + "</td>";
        Assert.Contains($"<tr><td>{Device}</td><td>map</td>{num("3")}{num("3")}{num("0")}{num("129")}{num("0")}{num("0")}{num("129")}{num("8,224")}{num("0")}</tr>",
            Section(html, "coherency"));
        Assert.Contains($"<tr><td>{Device}</td>{num("32")}{num("1")}</tr>", Section(html, "coherency"), "kmalloc bounces");
        Assert.Contains($"<td>{Device}</td><td>0x40020000</td>{num("32")}<td>FROM_DEVICE</td></tr>", Section(html, "coherency"), "kmalloc examples");
        Assert.Contains($"<tr><td>{Device}</td><td>map</td>{num("3")}{num("384")}{num("48")}{num("168")}{num("168")}{num("168")}{num("168")}{num("0")}</tr>",
            Section(html, "cost"));
        var pools = Section(html, "pools");
        Assert.Contains($"<tr><td>{Device}</td><td>pages-normal</td>{num("3")}{num("0")}{num("12,288")}</tr>", pools);
        Assert.Contains($"<tr><td>{Device}</td><td>{Pool}</td>{num("64")}{num("4,096")}{num("4,096")}{num("1")}{num("64")}{num("2")}{num("1")}<td>yes</td></tr>", pools);
        var findings = Section(html, "findings");
        Assert.Contains($"<tr><td>fence-never-signaled</td><td>warning</td><td>{FenceName}</td><td></td>{num("1")}", findings);
        Assert.Contains($"<td>{Device}: dma_pool_free {Pool}, dma 0x40010000 already free (freed at line 7)</td></tr>", findings);
        Assert.Contains($"<td>{Device}</td><td>0x40020000</td>{num("32")}<td>0x40020000</td><td>0xfc400000</td></tr>", Section(html, "replay"), "mismatches");
    }

    [TestMethod]
    public void Compare_and_check_html_escape_every_trace_string()
    {
        var compare = Html("compare");
        AssertNothingRaw(compare);
        Assert.Contains($"<tr><td>{Device}</td><td>maps</td><td class=\"num\">6</td><td class=\"num\">6</td></tr>", compare, "allocations count as maps here");

        var check = Html("check");
        AssertNothingRaw(check);
        Assert.Contains($"<td>{FenceName}</td>", check);
        Assert.Contains($"<span class=\"name\">{Device}</span>", check, "the live-mappings chart legend");
    }

    [TestMethod]
    [DataRow("replay")]
    [DataRow("compare")]
    [DataRow("check")]
    public void Csv_cells_that_would_be_formulas_are_guarded(string run)
    {
        int files = 0;
        foreach (var path in Directory.GetFiles(Dir(run), "*.csv"))
        {
            files++;
            foreach (var row in CsvRows.Read(path))
            {
                foreach (var cell in row)
                {
                    if (cell.Length == 0 || "=+-@\t\r".IndexOf(cell[0]) < 0) continue;
                    Assert.IsTrue(long.TryParse(cell, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                        $"{Path.GetFileName(path)}: unguarded cell {cell}");
                }
            }
        }
        Assert.AreEqual(run switch { "replay" => 22, "compare" => 1, _ => 7 }, files);
    }

    [TestMethod]
    public void Csv_tables_of_a_replay_hold_each_string_once_guarded()
    {
        var dir = ReplayDir.Value;
        string[] devices = [HostileTrace.ScriptDevice, "'=SUM(1+1)", "'+cmd", "'-cmd", "'@cmd"];
        CollectionAssert.AreEquivalent(devices, Column(dir, "devices.csv", "name"));
        CollectionAssert.AreEquivalent(devices, Column(dir, "allocation-sources.csv", "device"));
        CollectionAssert.AreEquivalent(devices, Column(dir, "coherency-kmalloc-bounces.csv", "device"));
        CollectionAssert.AreEquivalent(devices, Column(dir, "coherency.csv", "device").Distinct().ToList());
        CollectionAssert.AreEquivalent(devices, Column(dir, "cost-devices.csv", "device").Distinct().ToList());
        CollectionAssert.AreEquivalent(devices, Column(dir, "dma-pools.csv", "device"));
        CollectionAssert.AreEquivalent(new[] { HostileTrace.ScriptPool, "'=pool", "'+pool", "'-pool", "'@pool" }, Column(dir, "dma-pools.csv", "pool"));

        var tasks = Column(dir, "findings.csv", "task").Distinct().ToList();
        CollectionAssert.AreEquivalent(new[] { HostileTrace.ScriptTask, "'=task", "'+irq/24", "'-neg", "'@kw" }, tasks);
        var fences = CsvRows.Read(Path.Combine(dir, "findings.csv")).Where(r => r[0] == "fence-never-signaled").Select(r => r[3]).ToList();
        CollectionAssert.AreEqual(new[] { HostileTrace.ScriptDriver + ":" + HostileTrace.ScriptTimeline, "'@drv:-tl", "'=drv:+tl" }, fences);

        var compareKeys = Column(CompareDir.Value, "compare.csv", "key").Where(k => k.Length > 0).Distinct().ToList();
        foreach (var d in devices) CollectionAssert.Contains(compareKeys, d);
    }

    [TestMethod]
    public void Findings_csv_has_a_pool_column_when_a_finding_names_a_pool()
    {
        var rows = CsvRows.Read(Path.Combine(ReplayDir.Value, "findings.csv"));
        Assert.AreEqual("pool", rows[0][^1], "the last column");
        Assert.AreEqual("relatedStack", rows[0][^2], "the columns before it keep their places");
        var byRule = rows.Skip(1).GroupBy(r => r[0]).ToDictionary(g => g.Key, g => g.Select(r => r[^1]).ToList());
        CollectionAssert.AreEqual(new[] { HostileTrace.ScriptPool, "'=pool", "'+pool", "'-pool", "'@pool" }, byRule["pool-double-free"]);
        CollectionAssert.AreEqual(new[] { HostileTrace.ScriptPool, "'=pool", "'+pool", "'-pool", "'@pool" }, byRule["pool-destroy-busy"]);
        Assert.AreEqual(10, byRule["leak-at-unbind"].Count);
        Assert.IsTrue(byRule["leak-at-unbind"].Concat(byRule["fence-never-signaled"]).All(p => p.Length == 0), "no pool, empty cell");
    }

    [TestMethod]
    public void Agreement_of_the_hostile_replay_has_the_dma_pool_rows()
    {
        CollectionAssert.AreEqual(new[]
        {
            "kind,compared,exact,recorded,predicted,matched", "direct,10,10,,,", "swiotlb,0,0,,,", "iommu,0,0,,,", "failures,,,0,0,0",
            "dma_pool,10,10,,,", "allocation_failures,,,0,0,0",
        }, File.ReadAllLines(Path.Combine(ReplayDir.Value, "agreement.csv")));
        var replay = Section(Html("replay"), "replay");
        Assert.Contains("<tr><td>dma_pool blocks</td><td class=\"num\">10</td><td class=\"num\">10</td><td>100.00%</td></tr>", replay);
        Assert.Contains("<tr><td>Allocation failures</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">0</td></tr>", replay);
    }

    /// <summary>No page refers to anything outside itself: scripts, styles, fonts, images, frames.</summary>
    [TestMethod]
    [DataRow("replay")]
    [DataRow("compare")]
    [DataRow("check")]
    public void Reports_open_offline(string run)
    {
        var html = Html(run);
        // the SVG namespace is an identifier, never fetched
        var markup = html.Replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        foreach (var banned in new[] { "http://", "https://", "src=", "href=", "url(", "@import", "@font-face", "<link", "<img", "<iframe", "<object", "<embed", "<script" })
        {
            Assert.DoesNotContain(banned, markup, StringComparison.OrdinalIgnoreCase, $"{run}: found {banned}");
        }
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<style>", html, "the style is inline");
    }

    private static List<string> Column(string dir, string file, string column)
    {
        var rows = CsvRows.Read(Path.Combine(dir, file));
        int i = Array.IndexOf(rows[0], column);
        Assert.IsGreaterThanOrEqualTo(0, i, $"{file} has no column {column}");
        return rows.Skip(1).Select(r => r[i]).ToList();
    }
}
