using System.Text.Json;
using DmaReplay.Cli;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Cli;

[TestClass]
public sealed class ReplayCommandTests
{
    private static string NewDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "dmareplay-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(d);
        return d;
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = DmaReplayCommandLine.Invoke(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [TestMethod]
    public void ReplayOfABundlePrintsItsAgreementWithTheKernel()
    {
        var json = Path.Combine(NewDir(), "s.json");
        var (code, stdout, err) = Run("replay", TestPaths.RealBundle("dev-swiotlb-force-2m"), "--json", json);
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(stdout, "platform: dev-swiotlb-force-2m (the capture's own)");
        StringAssert.Contains(stdout, "agreement: direct 0/0 exact, swiotlb 9,982/9,982 exact, iommu 0/0 exact, failures recorded 4 predicted 4 matched 4, mismatches 0");
        StringAssert.Contains(stdout, "high-water 1,022 (kernel: 1,022)");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(14715, doc.RootElement.GetProperty("inputs")[0].GetProperty("events").GetInt64());
    }

    [TestMethod]
    public void WhatIfForcedBouncingOnADirectCapture()
    {
        // dev-direct ran without SWIOTLB. Forced through a 4 MiB pool, every streaming buffer bounces.
        var b = CaptureBundle.Load(TestPaths.RealBundle("dev-direct"));
        var platform = PlatformSettings.Apply(b.Platform, ["swiotlb.force=true", "swiotlb.size=4M", "swiotlb.start=0x70000000", "swiotlb.nareas=2"]);
        Assert.AreEqual((2048, 2), (platform.Swiotlb.Nslabs, platform.Swiotlb.Nareas));
        var r = new ReplayRun(new CheckOptions()).Run("dev-direct", b.TracePath, platform, b.Facts, captureOwn: false).Replay!;
        Assert.IsFalse(r.Platform.IsCaptureOwn);
        Assert.AreEqual(0L, r.Agreement.Direct.Compared, "nothing maps directly any more");
        var s = r.Swiotlb!;
        Assert.IsGreaterThan(5000L, s.Bytes.Map > 0 ? s.BounceCopies : 0);
        Assert.IsGreaterThan(0L, s.UsedHiwater);
        Assert.IsLessThanOrEqualTo(2048L, s.UsedHiwater);
        Assert.IsNull(s.RecordedHiwater, "dev-direct had no pool to compare with");
        // The capture's 2 MiB NVMe reads cannot bounce: SWIOTLB maps at most 256 KiB - 4 KiB for NVMe.
        Assert.IsGreaterThan(0L, s.MapFailures);
        Assert.IsTrue(r.Agreement.Mismatches.All(m => m.Kind.StartsWith("emulation", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void APresetKeepsTheCapturesDevices()
    {
        var (platform, facts, own) = PlatformSource.Resolve(TestPaths.RealBundle("dev-swiotlb-force-2m"), "x86-64-sev-guest", []);
        Assert.IsFalse(own);
        Assert.IsNotNull(facts);
        Assert.AreEqual("x86-64-sev-guest", platform.Name);
        Assert.IsTrue(platform.Swiotlb.Force);
        Assert.AreEqual(262144, platform.Swiotlb.Nslabs, "6% of 8 GiB (491 MiB) rounded up to a power-of-two slot count: 512 MiB");
        Assert.AreEqual(0xfffUL, platform.Device("0000:00:02.0").MinAlignMask, "the NVMe device keeps its driver's min_align_mask");
    }

    [TestMethod]
    public void IotlbSettingsKeepTheCapturesOwnPlatform()
    {
        // The IOTLB changes no address the kernel returns: the witness checks still run.
        var json = Path.Combine(NewDir(), "s.json");
        var (code, stdout, err) = Run("replay", TestPaths.RealBundle("dev-iommu-strict"), "--set", "iommu.iotlb=smmuv3-gem5",
            "--set", "iommu.iotlb.entries=4096", "--json", json);
        Assert.AreEqual(0, code, err);
        StringAssert.Contains(stdout, "(the capture's own)");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var pt = doc.RootElement.GetProperty("agreement").GetProperty("iommuPageTable");
        Assert.AreEqual(4982, pt.GetProperty("exact").GetInt64());
        var hw = doc.RootElement.GetProperty("iommu").GetProperty("domains")[0].GetProperty("hardware");
        Assert.AreEqual("smmuv3-gem5", hw.GetProperty("iotlb").GetString());
        Assert.AreEqual(4096, hw.GetProperty("iotlbEntries").GetInt32());
        Assert.AreEqual(4, hw.GetProperty("iotlbWays").GetInt32());
    }

    [TestMethod]
    public void BadPlatformArgumentsAreUsageErrors()
    {
        var (code, _, err) = Run("replay", TestPaths.RealBundle("dev-direct"), "--platform", "vax-11", "--json", Path.Combine(NewDir(), "x.json"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "'vax-11' is neither a preset");
        (code, _, err) = Run("replay", TestPaths.RealBundle("dev-direct"), "--set", "swiotlb.size=lots", "--json", Path.Combine(NewDir(), "x.json"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "swiotlb.size");
        (code, _, err) = Run("replay", Path.Combine(NewDir(), "missing"), "--json", Path.Combine(NewDir(), "x.json"));
        Assert.AreEqual(2, code);
        StringAssert.Contains(err, "no such file or directory");
        (code, _, err) = Run("replay", TestPaths.Traces("real"), "--json", Path.Combine(NewDir(), "x.json"));
        Assert.AreEqual(2, code, "a corpus folder is not one capture");
        StringAssert.Contains(err, "replay takes one trace or one capture bundle");
    }

    [TestMethod]
    public void ReplayRunsTheChecksOnTheReplayedStream()
    {
        // A double unmap in a plain trace replayed on a forced-bounce preset: found with the emulated handles.
        var dir = NewDir();
        var trace = Path.Combine(dir, "t.trace");
        File.WriteAllText(trace,
            TraceHarness.Line("kworker/0:1", 42, 0, ".....", "1.000010", "dma_map_page", "0000:00:02.0 dir=TO_DEVICE dma_addr=12340000 size=4096 phys_addr=12340000 attrs=") + "\n" +
            TraceHarness.Line("kworker/0:1", 42, 0, ".....", "1.000020", "dma_unmap_page", "0000:00:02.0 dir=TO_DEVICE dma_addr=12340000 size=4096 attrs=") + "\n" +
            TraceHarness.Line("kworker/0:1", 42, 0, ".....", "1.000030", "dma_unmap_page", "0000:00:02.0 dir=TO_DEVICE dma_addr=12340000 size=4096 attrs=") + "\n");
        var json = Path.Combine(dir, "s.json");
        var (code, stdout, err) = Run("replay", trace, "--platform", "x86-64-sev-guest", "--json", json);
        Assert.AreEqual(1, code, err + stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var f = doc.RootElement.GetProperty("findings").EnumerateArray().Single(x => x.GetProperty("severity").GetString() == "error");
        Assert.AreEqual("double-unmap", f.GetProperty("rule").GetString());
        Assert.AreEqual(3, f.GetProperty("line").GetInt64());
        Assert.AreEqual("0x80000000", f.GetProperty("dmaAddr").GetString(), "the bounce address on the SEV guest's pool, not the capture's handle");
    }

    [TestMethod]
    public void WhatIfIommuMergesAnSgListAndItsUnmapIsClean()
    {
        // Six page-sized entries behind a strict IOMMU: iommu_dma_map_sg lays them into one 24 KiB
        // IOVA segment, size-aligned to 8 pages below 4 GiB (alloc_iova_fast, 32-bit first): 0xffff8000.
        // dma-debug then holds one entry and debug_dma_unmap_sg stops after it, so the unmap is clean.
        var dir = NewDir();
        var trace = Path.Combine(dir, "t.trace");
        const string Phys = "0x75ec5000,0x203f000,0x765a7000,0x25033000,0x742af000,0xab29f000";
        File.WriteAllText(trace,
            TraceHarness.Line("dd", 308, 0, ".....", "2.824461", "dma_map_sg", $"0000:00:02.0 dir=FROM_DEVICE nents=6/6 ents=6/6 dma_addrs={{{Phys}}} sizes={{0x1000,0x1000,0x1000,0x1000,0x1000,0x1000}} phys_addrs={{{Phys}}} attrs=NO_WARN") + "\n" +
            TraceHarness.Line("dd", 308, 0, "d.h1.", "2.824521", "dma_unmap_sg", $"0000:00:02.0 dir=FROM_DEVICE phys_addrs={{{Phys}}} attrs=") + "\n");
        var json = Path.Combine(dir, "s.json");
        var (code, stdout, err) = Run("replay", trace, "--platform", "x86-64-default", "--set", "device.0000:00:02.0.iommu=strict", "--json", json, "--fail-on", "info");
        Assert.AreEqual(0, code, err + stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.AreEqual(0, doc.RootElement.GetProperty("findings").GetArrayLength());
        var a = doc.RootElement.GetProperty("agreement");
        Assert.AreEqual(0, a.GetProperty("iommu").GetProperty("compared").GetInt64(), "the capture mapped directly: no IOVA to compare");
        var m = a.GetProperty("mismatches").EnumerateArray().Single();
        Assert.AreEqual("emulation translated, kernel mapped directly", m.GetProperty("kind").GetString());
        Assert.AreEqual("0xffff8000", m.GetProperty("predicted").GetString());
    }

    [TestMethod]
    public void IommuModePutsEveryDeviceBehindTheIommu()
    {
        // iommu.mode=lazy on a preset that lists no device: the trace's device gets a DMA-FQ domain,
        // and its first 4 KiB map takes the top page below 4 GiB (alloc_iova_fast, 32-bit first).
        var p = PlatformSettings.Apply(PlatformPresets.X86Default(), ["iommu.mode=lazy"]);
        Assert.AreEqual(IommuDomainType.DmaFq, p.Device("0000:00:05.0").IommuDomain);
        p = PlatformSettings.Apply(p, ["device.0000:00:05.0.iommu=identity"]);
        Assert.AreEqual(IommuDomainType.Identity, p.Device("0000:00:05.0").IommuDomain, "a device setting after the mode wins");

        var dir = NewDir();
        var trace = Path.Combine(dir, "t.trace");
        File.WriteAllText(trace,
            TraceHarness.Line("kworker/0:1", 42, 0, ".....", "1.000010", "dma_map_page", "0000:00:02.0 dir=TO_DEVICE dma_addr=12340000 size=4096 phys_addr=12340000 attrs=") + "\n");
        var json = Path.Combine(dir, "s.json");
        var (code, stdout, err) = Run("replay", trace, "--platform", "x86-64-default", "--set", "iommu.mode=lazy", "--json", json, "--fail-on", "warning");
        Assert.AreEqual(0, code, err + stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var m = doc.RootElement.GetProperty("agreement").GetProperty("mismatches").EnumerateArray().Single();
        Assert.AreEqual("0xfffff000", m.GetProperty("predicted").GetString());
    }
}
