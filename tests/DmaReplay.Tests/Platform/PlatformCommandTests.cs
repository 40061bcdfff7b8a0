using System.Diagnostics;
using System.Text.Json;
using DmaReplay.Cli.Common;
using DmaReplay.Engine.Platform;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Platform;

[TestClass]
public sealed class PlatformCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliHarness.Run(args);

    [TestMethod]
    public void SnapshotWritesThePlatformFileAndASummary()
    {
        var fs = FakeSystem.Standard();
        fs.Write("proc/iomem", FakeSystem.HiddenIomem);
        var output = Path.Combine(CliHarness.NewDir(), "sub", "platform.json");
        var (code, stdout, err) = Run("platform", "snapshot", "-o", output, "--root", fs.Root);
        Assert.AreEqual((int)ReturnCode.Ok, code, err);
        PlatformSnapshotTests.AssertSamePlatform(PlatformSnapshot.FromSystem(fs.Root), PlatformJson.Read(output));
        StringAssert.Contains(stdout, "wrote " + output);
        StringAssert.Contains(stdout, "platform testbox: 8 CPUs, RAM unknown");
        StringAssert.Contains(stdout, "SWIOTLB: 4,096 KiB (2048 slots, 4 areas) at 0xbbe00000, force");
        StringAssert.Contains(stdout, "devices: 2");
        StringAssert.Contains(stdout, "0000:00:02.0 nvme: dma_mask 64 bits, coherent 64 bits, min_align_mask 0xfff, iommu dma-fq group 2");
        StringAssert.Contains(stdout, "not read (1):\n  /proc/iomem: ");
    }

    [TestMethod]
    public void SnapshotToStandardOutputKeepsTheSummaryOnStandardError()
    {
        var fs = FakeSystem.Standard();
        var (code, stdout, err) = Run("platform", "snapshot", "-o", "-", "--root", fs.Root);
        Assert.AreEqual((int)ReturnCode.Ok, code, err);
        Assert.AreEqual(PlatformJson.ToJson(PlatformSnapshot.FromSystem(fs.Root)), stdout);
        StringAssert.Contains(err, "devices: 2");

        (code, _, err) = Run("platform", "snapshot", "-o", "-", "--root", Path.Combine(fs.Root, "nope"));
        Assert.AreEqual((int)ReturnCode.UsageOrInputError, code);
        StringAssert.Contains(err, "--root");
    }

    [TestMethod]
    public void ShowPrintsABundlesPlatform()
    {
        var (code, stdout, err) = Run("platform", "show", TestPaths.RealBundle("dev-swiotlb-force-2m"));
        Assert.AreEqual((int)ReturnCode.Ok, code, err);
        using var doc = JsonDocument.Parse(stdout);
        var root = doc.RootElement;
        Assert.AreEqual("dev-swiotlb-force-2m", root.GetProperty("name").GetString());
        var s = root.GetProperty("swiotlb");
        Assert.AreEqual("0x78a00000", s.GetProperty("start").GetString());
        Assert.AreEqual(1024, s.GetProperty("nslabs").GetInt32());
        Assert.AreEqual(2, s.GetProperty("nareas").GetInt32());
        Assert.IsTrue(s.GetProperty("force").GetBoolean());
        var nvme = root.GetProperty("devices").EnumerateArray().Single(d => d.GetProperty("name").GetString() == "0000:00:02.0");
        Assert.AreEqual("nvme", nvme.GetProperty("driver").GetString());
        Assert.AreEqual("0xfff", nvme.GetProperty("minAlignMask").GetString());
    }

    [TestMethod]
    public void ShowPrintsPresetsAndFilesWithOverrides()
    {
        var (code, stdout, err) = Run("platform", "show", "arm64-noncoherent-soc");
        Assert.AreEqual((int)ReturnCode.Ok, code, err);
        Assert.AreEqual(PlatformJson.ToJson(PlatformPresets.Arm64NonCoherentSoc()), stdout);

        var file = Path.Combine(CliHarness.NewDir(), "p.json");
        PlatformJson.Write(PlatformPresets.X86Default(), file);
        (code, stdout, err) = Run("platform", "show", file, "--set", "swiotlb.nslabs=4096", "--set", "cpus=2");
        Assert.AreEqual((int)ReturnCode.Ok, code, err);
        using var doc = JsonDocument.Parse(stdout);
        Assert.AreEqual(4096, doc.RootElement.GetProperty("swiotlb").GetProperty("nslabs").GetInt32());
        Assert.AreEqual(2, doc.RootElement.GetProperty("cpus").GetInt32());

        (code, _, err) = Run("platform", "show", "no-such-platform");
        Assert.AreEqual((int)ReturnCode.UsageOrInputError, code);
        StringAssert.Contains(err, "neither a capture bundle, a platform file nor a preset");
        (code, _, err) = Run("platform", "show", "x86-64-default", "--set", "bogus=1");
        Assert.AreEqual((int)ReturnCode.UsageOrInputError, code);
        StringAssert.Contains(err, "unknown setting 'bogus'");
    }

    [TestMethod]
    public void RecordScriptIsValidShell()
    {
        var script = Path.Combine(TestPaths.RepoRoot, "traces", "capture", "record.sh");
        Assert.IsTrue(File.Exists(script), script);
        var psi = new ProcessStartInfo("sh", ["-n", script]) { RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.AreEqual(0, p.ExitCode, err);
    }
}
