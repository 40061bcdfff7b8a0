using DmaReplay.Engine.Platform;

namespace DmaReplay.Tests.Platform;

[TestClass]
public sealed class PlatformSnapshotTests
{
    /// <summary>Records compare lists by reference: both sides get this one.</summary>
    private static readonly IReadOnlyList<DmaRange> NoRanges = [];
    private static readonly IReadOnlyList<IommuRegion> NoRegions = [];

    [TestMethod]
    public void AFakeRootGivesTheExactPlatform()
    {
        var snap = PlatformSnapshot.Take(FakeSystem.Standard().Root);
        var p = snap.Platform;
        CollectionAssert.AreEqual(Array.Empty<string>(), snap.Unread.ToArray());
        Assert.AreEqual("testbox", p.Name);
        Assert.AreEqual(8, p.Cpus, "0-7");
        CollectionAssert.AreEqual(new MemoryRange[] { new(0x1000, 0x9fc00), new(0x10_0000, 0xc000_0000), new(0x1_0000_0000, 0x2_4000_0000) }, p.Ram.ToArray());
        Assert.AreEqual(new SwiotlbConfig { Start = 0xbbe0_0000, Nslabs = 2048, Nareas = 4, Force = true }, p.Swiotlb,
            "nslabs from debugfs, areas and start from the running boot's part of kern.log, force from the command line");

        Assert.AreEqual(2, p.Devices.Count);
        Assert.AreEqual(new DeviceModel
        {
            Name = "0000:00:02.0", Bus = "pci", Driver = "nvme", DmaMaskBits = 64, CoherentMaskBits = 64, Coherent = true,
            MinAlignMask = 0xfff, MaxSegmentSize = 0xffff_ffff, SegmentBoundaryMask = 0xffff_ffff, SegmentLimitsKnown = true,
            IommuDomain = IommuDomainType.DmaFq, IommuGroup = 2, DmaRanges = NoRanges,
        }, p.Devices[0] with { DmaRanges = NoRanges }, "nvme: sysfs masks, the driver's min_align_mask, its DMA-FQ group");
        Assert.AreEqual(new DeviceModel
        {
            Name = "0000:00:03.0", Bus = "pci", Driver = "e1000e", DmaMaskBits = 64, CoherentMaskBits = 32, Coherent = true,
            MinAlignMask = 0, MaxSegmentSize = 65536, SegmentBoundaryMask = 0xffff_ffff,
            IommuDomain = IommuDomainType.None, IommuGroup = null, DmaRanges = NoRanges,
        }, p.Devices[1] with { DmaRanges = NoRanges }, "e1000e: no driver defaults, no IOMMU group");
        Assert.AreEqual(0, p.Devices.Sum(d => d.DmaRanges.Count));

        Assert.IsTrue(p.Provenance.Any(s => s.Contains("iommu.strict=0", StringComparison.Ordinal)));
        Assert.IsTrue(p.Provenance.Any(s => s.Contains("io_tlb_used=3, io_tlb_used_hiwater=130", StringComparison.Ordinal)));
        Assert.IsTrue(p.Provenance.Any(s => s.Contains("nvme driver", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void ZerosInIomemLeaveRamEmptyAndAreRecorded()
    {
        var fs = FakeSystem.Standard();
        fs.Write("proc/iomem", FakeSystem.HiddenIomem);
        var snap = PlatformSnapshot.Take(fs.Root);
        Assert.AreEqual(0, snap.Platform.Ram.Count);
        Assert.AreEqual(0UL, snap.Platform.RamEnd);
        Assert.AreEqual(1, snap.Unread.Count);
        StringAssert.StartsWith(snap.Unread[0], "/proc/iomem: ");
        StringAssert.Contains(snap.Unread[0], "non-root");
        Assert.IsTrue(snap.Platform.Provenance.Contains("not read: " + snap.Unread[0]));
    }

    [TestMethod]
    public void MissingFilesAreNotErrors()
    {
        var fs = new FakeSystem();
        Directory.CreateDirectory(fs.Root);
        var snap = PlatformSnapshot.Take(fs.Root);
        var p = snap.Platform;
        Assert.AreEqual("snapshot", p.Name);
        Assert.AreEqual(1, p.Cpus);
        Assert.AreEqual(0, p.Ram.Count);
        Assert.AreEqual(0, p.Devices.Count);
        Assert.IsFalse(p.Swiotlb.Active);
        var unread = snap.Unread.Select(u => u[..u.IndexOf(':')]).ToList();
        CollectionAssert.IsSubsetOf(new[]
        {
            "/proc/cmdline", "/proc/iomem", "/sys/devices/system/cpu/possible", "/sys/bus/pci/devices", "/sys/kernel/iommu_groups",
            "/sys/kernel/debug/swiotlb/io_tlb_nslabs", "/var/log/kern.log",
        }, unread);
        Assert.AreEqual(snap.Unread.Count, p.Provenance.Count(s => s.StartsWith("not read: ", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void WithoutDebugfsThePoolIsSizedFromTheCommandLineAndAStaleLogIsIgnored()
    {
        var fs = FakeSystem.Standard();
        Directory.Delete(Path.Combine(fs.Root, "sys/kernel/debug"), recursive: true);
        fs.Write("var/log/kern.log", "Jan  1 00:00:00 testbox kernel: [    0.000000] Command line: console=ttyS0 swiotlb=64\n" +
            "Jan  1 00:00:00 testbox kernel: [    0.412000] software IO TLB: mapped [mem 0x0000000011000000-0x0000000011400000] (4MB)\n");
        var snap = PlatformSnapshot.Take(fs.Root);
        Assert.AreEqual(new SwiotlbConfig { Start = null, Nslabs = 2048, Nareas = 8, Force = true }, snap.Platform.Swiotlb,
            "swiotlb=2048,force; 8 areas from the 8 CPUs; the log is of another boot");
        Assert.IsTrue(snap.Unread.Any(u => u.StartsWith("/var/log/kern.log: ", StringComparison.Ordinal)));
        Assert.IsTrue(snap.Unread.Any(u => u.StartsWith("/sys/kernel/debug/swiotlb/io_tlb_nslabs: ", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void CpuListsAreCounted()
    {
        Assert.AreEqual(8, KernelText.CpuCount("0-7\n"));
        Assert.AreEqual(1, KernelText.CpuCount("0"));
        Assert.AreEqual(7, KernelText.CpuCount("0-3,6,8-9"));
        Assert.IsNull(KernelText.CpuCount(""));
        Assert.IsNull(KernelText.CpuCount("x"));
    }

    [TestMethod]
    public void PlatformJsonRoundTripGivesAnEqualModel()
    {
        var dir = Support.CliHarness.NewDir();
        var models = new[]
        {
            PlatformSnapshot.FromSystem(FakeSystem.Standard().Root),
            CaptureBundle.Load(Support.TestPaths.RealBundle("dev-iommu-lazy")).Platform,
            PlatformPresets.Arm64NonCoherentSoc() with
            {
                MemoryEncryptionMask = 1UL << 51,
                DefaultIommuDomain = IommuDomainType.DmaFq,
                Devices = [new DeviceModel
                {
                    Name = "soc-dma", Bus = "platform", Driver = "pl330", DmaMaskBits = 40, CoherentMaskBits = 36, BusDmaLimit = 0xffff_ffff,
                    DmaRanges = [new DmaRange(0x4000_0000, 0, 0x1_0000_0000)], Coherent = false, Untrusted = true,
                    SegmentBoundaryMask = ulong.MaxValue, SegmentLimitsKnown = true, IommuDomain = IommuDomainType.Identity, IommuGroup = 7,
                }],
            },
        };
        foreach (var p in models)
        {
            var path = Path.Combine(dir, p.Name + ".json");
            PlatformJson.Write(p, path);
            AssertSamePlatform(p, PlatformJson.Read(path));
        }
    }

    /// <summary>Every field but the provenance (a platform file records its own origin).</summary>
    internal static void AssertSamePlatform(PlatformModel expected, PlatformModel actual)
    {
        Assert.AreEqual(expected.Name, actual.Name);
        Assert.AreEqual(expected.Cpus, actual.Cpus);
        CollectionAssert.AreEqual(expected.Ram.ToArray(), actual.Ram.ToArray());
        Assert.AreEqual(expected.CoherentByDefault, actual.CoherentByDefault);
        Assert.AreEqual(expected.DmaCacheAlignment, actual.DmaCacheAlignment);
        Assert.AreEqual(expected.CacheLineBytes, actual.CacheLineBytes);
        Assert.AreEqual(expected.BounceUnalignedKmalloc, actual.BounceUnalignedKmalloc);
        Assert.AreEqual(expected.MemoryEncryptionMask, actual.MemoryEncryptionMask);
        Assert.AreEqual(expected.Swiotlb, actual.Swiotlb);
        Assert.AreEqual(expected.Kernel, actual.Kernel);
        Assert.AreEqual(expected.DefaultIommuDomain, actual.DefaultIommuDomain);
        CollectionAssert.AreEqual(expected.Iommu.HostBridgeWindows.ToArray(), actual.Iommu.HostBridgeWindows.ToArray());
        Assert.AreEqual(expected.Iommu with { HostBridgeWindows = NoRegions }, actual.Iommu with { HostBridgeWindows = NoRegions });
        Assert.AreEqual(expected.Devices.Count, actual.Devices.Count);
        foreach (var (e, a) in expected.Devices.Zip(actual.Devices))
        {
            CollectionAssert.AreEqual(e.DmaRanges.ToArray(), a.DmaRanges.ToArray(), e.Name);
            CollectionAssert.AreEqual(e.IommuReserved.ToArray(), a.IommuReserved.ToArray(), e.Name);
            Assert.AreEqual(e with { DmaRanges = NoRanges, IommuReserved = NoRegions }, a with { DmaRanges = NoRanges, IommuReserved = NoRegions }, e.Name);
        }
    }
}
