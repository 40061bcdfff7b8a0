using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using DmaReplay.Cli.Commands;
using DmaReplay.Cli.Common;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Cli;

[TestClass]
public sealed class CheckCommandTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string NewDir() => CliHarness.NewDir();

    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [TestMethod]
    public void ArgvSmokeTestWritesTheContractKeysOfSummaryJson()
    {
        var outDir = NewDir();
        var (code, _, err) = Run("check", TestPaths.RealBundle("dev-swiotlb-force-2m"), "--out", outDir, "--format", "json");
        Assert.AreEqual((int)ReturnCode.Ok, code, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        var root = doc.RootElement;
        CollectionAssert.IsSubsetOf(new[] { "tool", "inputs", "devices", "findings", "findingCounts" }, Keys(root));
        CollectionAssert.IsSubsetOf(new[] { "name", "version" }, Keys(root.GetProperty("tool")));
        var input = root.GetProperty("inputs")[0];
        CollectionAssert.IsSubsetOf(new[] { "path", "format", "bytes", "lines", "events", "eventsByType", "otherEvents", "skipped", "malformed", "lostEvents", "firstTimestampNs", "lastTimestampNs" }, Keys(input));
        Assert.AreEqual(14755, input.GetProperty("lines").GetInt64());
        Assert.AreEqual(9986, input.GetProperty("eventsByType").GetProperty("swiotlb_bounced").GetInt64());
        Assert.AreEqual(28, input.GetProperty("otherEvents").GetProperty("tracing_mark_write").GetInt64());
        Assert.AreEqual(2324763000, input.GetProperty("firstTimestampNs").GetInt64());
        var nvme = root.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "0000:00:02.0");
        CollectionAssert.IsSubsetOf(new[] { "name", "events", "maps", "unmaps", "peakLiveMappings", "peakLiveBytes" }, Keys(nvme));
        Assert.AreEqual(4, nvme.GetProperty("mapFailures").GetInt64(), "the four 'swiotlb buffer is full' failures of this capture");
        Assert.IsFalse(root.GetProperty("findings").EnumerateArray().Any(f => f.GetProperty("severity").GetString() != "info"),
            "a capture of correct drivers has no error or warning findings");
    }

    private static string[] Keys(JsonElement e) => e.EnumerateObject().Select(p => p.Name).ToArray();

    [TestMethod]
    public void JsonOptionWritesOnlyThatFileAndRunsAreByteIdentical()
    {
        var dir = NewDir();
        var a = Path.Combine(dir, "a.json");
        var b = Path.Combine(dir, "sub", "b.json");
        var outDir = Path.Combine(dir, "reports");
        Assert.AreEqual(0, CheckCommand.Run(TextWriter.Null, TextWriter.Null, [TestPaths.Traces("edge")], new() { OutDir = outDir, Formats = "json", JsonPath = a, FailOn = "none" }));
        Assert.AreEqual(0, CheckCommand.Run(TextWriter.Null, TextWriter.Null, [TestPaths.Traces("edge")], new() { OutDir = outDir, Formats = "json", JsonPath = b, FailOn = "none" }));
        CollectionAssert.AreEqual(File.ReadAllBytes(a), File.ReadAllBytes(b));
        CollectionAssert.AreEqual(File.ReadAllBytes(a), File.ReadAllBytes(Path.Combine(outDir, "summary.json")));
    }

    [TestMethod]
    public void ACorpusFolderExpandsToItsBundlesAndTraceFilesInNameOrder()
    {
        var inputs = global::DmaReplay.Engine.Inputs.InputResolver.Resolve([TestPaths.Traces()]);
        var names = inputs.Select(i => Path.GetRelativePath(TestPaths.Traces(), i.DisplayPath).Replace('\\', '/')).ToList();
        CollectionAssert.IsSubsetOf(new[] { "edge/all-events.trace", "real/dev-direct/trace.txt", "real/dev-stacktrace/trace.txt" }, names);
        CollectionAssert.AreEqual(names.OrderBy(n => n, StringComparer.Ordinal).ToList(), names);
        Assert.IsTrue(inputs.All(i => i.Error is null));
    }

    [TestMethod]
    public void UsageAndInputErrorsExitWithTwo()
    {
        var outDir = NewDir();
        var err = new StringWriter();
        Assert.AreEqual(2, CheckCommand.Run(TextWriter.Null, err, [TestPaths.Traces("edge")], new() { OutDir = outDir, Formats = "json,pdf" }));
        StringAssert.Contains(err.ToString(), "unknown report format 'pdf'");

        err = new StringWriter();
        var missing = Path.Combine(outDir, "nope.trace");
        Assert.AreEqual(2, CheckCommand.Run(TextWriter.Null, err, [missing, TestPaths.Traces("edge", "all-events.trace")], new() { OutDir = outDir, Formats = "json" }));
        StringAssert.Contains(err.ToString(), "nope.trace");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")));
        var inputs = doc.RootElement.GetProperty("inputs");
        Assert.AreEqual("no such file or directory", inputs[0].GetProperty("readError").GetString());
        Assert.AreEqual(40, inputs[1].GetProperty("events").GetInt64(), "the readable input is still reported");

        var (code, _, e) = Run("check");
        Assert.AreEqual(2, code);
        StringAssert.Contains(e, "trace");
    }

    [TestMethod]
    public void JsonAloneWritesOnlyThatFile()
    {
        var dir = NewDir();
        var json = Path.Combine(dir, "only.json");
        var previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(dir); // the default --out would land here
        try
        {
            var (code, _, err) = Run("check", TestPaths.Traces("edge", "all-events.trace"), "--json", json, "--fail-on", "none");
            Assert.AreEqual(0, code, err);
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }
        CollectionAssert.AreEqual(new[] { "only.json" }, Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void CompressedInputsGiveTheSameCountsAsPlainText()
    {
        var dir = NewDir();
        var plain = TestPaths.Traces("edge", "all-events.trace");
        var gz = Path.Combine(dir, "a.trace.gz");
        using (var f = File.Create(gz))
        using (var z = new GZipStream(f, CompressionLevel.Optimal)) z.Write(File.ReadAllBytes(plain));
        var zst = Path.Combine(dir, "b.trace.zst");
        using (var compressor = new ZstdSharp.Compressor()) File.WriteAllBytes(zst, compressor.Wrap(File.ReadAllBytes(plain)).ToArray());
        var sniffed = Path.Combine(dir, "c.trace");
        File.Copy(gz, sniffed); // gzip without the extension: found by its magic bytes

        var expected = TraceHarness.ReadFile(plain);
        foreach (var path in new[] { gz, zst, sniffed })
        {
            var h = TraceHarness.ReadFile(path);
            Assert.AreEqual(expected.Stats.Events, h.Stats.Events, path);
            Assert.AreEqual(expected.Stats.Lines, h.Stats.Lines, path);
            Assert.AreEqual(expected.Stats.Bytes, h.Stats.Bytes, path);
        }
    }

    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public void TheRealProcessReadsStandardInput()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "dmareplay.dll");
        var outJson = Path.Combine(NewDir(), "stdin.json");
        var psi = new ProcessStartInfo("dotnet", [dll, "check", "-", "--json", outJson, "--format", "json", "--out", Path.GetDirectoryName(outJson)!, "--fail-on", "none"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        using (var stdin = p.StandardInput.BaseStream) stdin.Write(File.ReadAllBytes(TestPaths.Traces("edge", "all-events.trace")));
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.AreEqual(0, p.ExitCode, stderr);
        StringAssert.Contains(stdout, "-: ftrace, 54 lines = 40 events + 14 skipped + 0 malformed");
        using var doc = JsonDocument.Parse(File.ReadAllText(outJson));
        Assert.AreEqual("-", doc.RootElement.GetProperty("inputs")[0].GetProperty("path").GetString());
    }
}
