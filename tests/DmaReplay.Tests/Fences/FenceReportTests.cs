using System.Globalization;
using System.Text.Json;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Fences;

/// <summary>
/// fences.csv and the HTML "DMA fences" section on the real dev-fence-sw-sync capture, held to the
/// fence program's own record (groundtruth.json): fences and signaled per timeline, and the
/// init → signaled latencies it measured from the trace's timestamps.
/// </summary>
[TestClass]
public sealed class FenceReportTests
{
    [TestMethod]
    public void FenceTimelinesAndLatenciesMatchTheGroundTruth()
    {
        string bundle = TestPaths.RealBundle("dev-fence-sw-sync"), dir = CliHarness.NewDir();
        var (code, _, err) = CliHarness.Run("check", bundle, "-o", dir, "--fail-on", "none");
        Assert.AreEqual(0, code, err);
        var rows = CsvRows.Read(Path.Combine(dir, "fences.csv"));
        var header = rows[0].ToList();
        int Col(string key) => header.IndexOf(key);
        using var truth = JsonDocument.Parse(File.ReadAllText(Path.Combine(bundle, "groundtruth.json")));
        var fences = truth.RootElement.GetProperty("fences").EnumerateArray().ToList();
        foreach (var t in truth.RootElement.GetProperty("timelines").EnumerateArray())
        {
            long context = t.GetProperty("context").GetInt64();
            var row = rows.Skip(1).Single(r => r[Col("context")] == context.ToString(CultureInfo.InvariantCulture));
            Assert.AreEqual(t.GetProperty("driver").GetString(), row[Col("driver")]);
            Assert.AreEqual(t.GetProperty("name").GetString(), row[Col("timeline")]);
            Assert.AreEqual(t.GetProperty("fences_in_creation_order").GetArrayLength().ToString(CultureInfo.InvariantCulture), row[Col("fences")]);
            Assert.AreEqual(t.GetProperty("signaled").GetArrayLength().ToString(CultureInfo.InvariantCulture), row[Col("signaled")]);

            // The program's init → signaled times (seconds, µs resolution), nearest-rank percentiles.
            var latencies = fences.Where(f => f.GetProperty("context").GetInt64() == context && f.TryGetProperty("init_to_signaled_s", out var v) && v.ValueKind == JsonValueKind.Number)
                .Select(f => (long)Math.Round(f.GetProperty("init_to_signaled_s").GetDouble() * 1e9)).Order().ToArray();
            Assert.AreEqual(latencies.Length.ToString(CultureInfo.InvariantCulture), row[Col("initToSignaledCount")]);
            if (latencies.Length == 0)
            {
                Assert.AreEqual("", row[Col("initToSignaledMedianNs")], "no distribution: empty, not zero");
                continue;
            }
            long Rank(double p) => latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Length) - 1, 0, latencies.Length - 1)];
            Assert.AreEqual(latencies[0].ToString(CultureInfo.InvariantCulture), row[Col("initToSignaledMinNs")]);
            Assert.AreEqual(Rank(0.5).ToString(CultureInfo.InvariantCulture), row[Col("initToSignaledMedianNs")]);
            Assert.AreEqual(Rank(0.9).ToString(CultureInfo.InvariantCulture), row[Col("initToSignaledP90Ns")]);
            Assert.AreEqual(latencies[^1].ToString(CultureInfo.InvariantCulture), row[Col("initToSignaledMaxNs")]);
        }
        string html = File.ReadAllText(Path.Combine(dir, "report.html"));
        StringAssert.Contains(html, "<section id=\"fences\">");
        StringAssert.Contains(html, "swsync-two");
    }
}
