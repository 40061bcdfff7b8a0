using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using static DmaReplay.Tests.Checks.CheckerHarness;

namespace DmaReplay.Tests.Checks;

/// <summary>
/// One small trace per rule; each asserts the exact findings (rule, line, related line) that
/// kernel/dma/debug.c's logic gives for that call sequence — no more, no fewer.
/// </summary>
[TestClass]
public sealed class MisuseCheckerTests
{
    private static (string, long, long?)[] Shape(IEnumerable<Finding> fs) =>
        fs.Select(f => (f.Rule, f.Line, f.Related?.Line)).ToArray();

    private static void AssertFindings(IReadOnlyList<Finding> actual, params (string Rule, long Line, long? Related)[] expected) =>
        CollectionAssert.AreEqual(expected, Shape(actual), "got: " + string.Join(" | ", actual.Select(f => $"{f.Rule}@{f.Line}: {f.Message}")));

    [TestMethod]
    public void CorrectTrafficHasNoFindings()
    {
        var h = new CheckerHarness();
        h.Map(Nvme, 0x1000, 4096);
        h.Map(Nvme, 0x1000, 4096); // the same page twice without an IOMMU: legal
        h.Sync(Nvme, 0x1000, 4096, "FROM_DEVICE", forCpu: true);
        h.Unmap(Nvme, 0x1000, 4096);
        h.Unmap(Nvme, 0x1000, 4096);
        h.MapSg(Nvme, "TO_DEVICE", [0x10000, 0x20000], [0x10000, 0x20000], [0x1000, 0x1000]);
        h.UnmapSg(Nvme, "TO_DEVICE", [0x10000, 0x20000]);
        h.Alloc(Nic, 0x7000, 512, 0xbb9e9702);
        h.Free(Nic, 0x7000, 512, 0xbb9e9702);
        AssertFindings(h.Run(withLeaks: true));
    }

    [TestMethod]
    public void DoubleUnmapPointsAtTheFirstRelease()
    {
        var h = new CheckerHarness();
        h.Map(Nvme, 0x1000, 4096);
        int first = h.Unmap(Nvme, 0x1000, 4096);
        int second = h.Unmap(Nvme, 0x1000, 4096);
        var f = h.Run();
        AssertFindings(f, (Rules.DoubleUnmap, second, first));
        StringAssert.StartsWith(f[0].Message, "DMA-API: 0000:00:02.0: device driver tries to free DMA memory it has not allocated [device address=0x0000000000001000] [size=4096 bytes]");
        Assert.AreEqual(Severity.Error, f[0].Severity);
    }

    [TestMethod]
    public void UnmapOfAnAddressNeverMapped()
    {
        var h = new CheckerHarness();
        int bad = h.Unmap(Nvme, 0x5000, 4096);
        AssertFindings(h.Run(), (Rules.UnmapNotMapped, bad, null));
    }

    [TestMethod]
    public void UnmapOnTheWrongDevice()
    {
        var h = new CheckerHarness();
        int map = h.Map(Nic, 0x9000, 1522);
        int bad = h.Unmap(Nvme, 0x9000, 1522);
        AssertFindings(h.Run(), (Rules.UnmapWrongDevice, bad, map));
    }

    [TestMethod]
    public void SizeDirectionAndTypeMismatchesAllFireOnOneUnmapAndStillRelease()
    {
        var h = new CheckerHarness();
        int map = h.Map(Nvme, 0x1000, 4096, "TO_DEVICE");
        int bad = h.Unmap(Nvme, 0x1000, 2048, "FROM_DEVICE", evt: "dma_unmap_resource");
        int again = h.Unmap(Nvme, 0x1000, 4096, "TO_DEVICE");
        var f = h.Run();
        // check_unmap's order: size, type, (sg count), direction; then the entry is gone.
        AssertFindings(f,
            (Rules.UnmapSizeMismatch, bad, map), (Rules.UnmapTypeMismatch, bad, map), (Rules.UnmapDirectionMismatch, bad, map),
            (Rules.DoubleUnmap, again, bad));
        StringAssert.Contains(f[0].Message, "[map size=4096 bytes] [unmap size=2048 bytes]");
        StringAssert.Contains(f[1].Message, "[mapped as single] [unmapped as resource]");
        StringAssert.Contains(f[2].Message, "[mapped with DMA_TO_DEVICE] [unmapped with DMA_FROM_DEVICE]");
    }

    [TestMethod]
    public void FreeingACoherentBufferWithAnotherCpuAddress()
    {
        var h = new CheckerHarness();
        int alloc = h.Alloc(Nic, 0x7000, 512, 0x1111);
        int free = h.Free(Nic, 0x7000, 512, 0x2222);
        AssertFindings(h.Run(), (Rules.FreeCpuAddressMismatch, free, alloc));
    }

    [TestMethod]
    public void UnmapPageOfAnSgMappingIsTheWrongFunction()
    {
        var h = new CheckerHarness();
        int map = h.MapSg(Nvme, "TO_DEVICE", [0x10000], [0x10000], [0x1000]);
        int bad = h.Unmap(Nvme, 0x10000, 0x1000, "TO_DEVICE");
        AssertFindings(h.Run(), (Rules.UnmapTypeMismatch, bad, map));
    }

    [TestMethod]
    public void SgUnmapWithAnotherEntryCountChecksEveryMappedSegment()
    {
        var h = new CheckerHarness();
        int map = h.MapSg(Nvme, "FROM_DEVICE", [0x10000, 0x20000, 0x30000], [0x10000, 0x20000, 0x30000], [0x1000, 0x1000, 0x1000]);
        int bad = h.UnmapSg(Nvme, "FROM_DEVICE", [0x10000, 0x20000]);
        // debug_dma_unmap_sg walks the nelems passed (2): each checked entry reports the count (3 vs 2).
        AssertFindings(h.Run(withLeaks: true),
            (Rules.SgNentsMismatch, bad, map), (Rules.SgNentsMismatch, bad, map), (Rules.LeakAtEnd, map, null));
    }

    [TestMethod]
    public void SgUnmapOfAListNeverMappedAndTwice()
    {
        var h = new CheckerHarness();
        int never = h.UnmapSg(Nvme, "TO_DEVICE", [0x40000]);
        h.MapSg(Nvme, "TO_DEVICE", [0x10000, 0x20000], [0x10000, 0x20000], [0x1000, 0x1000]);
        int first = h.UnmapSg(Nvme, "TO_DEVICE", [0x10000, 0x20000]);
        int second = h.UnmapSg(Nvme, "TO_DEVICE", [0x10000, 0x20000]);
        AssertFindings(h.Run(), (Rules.UnmapNotMapped, never, null), (Rules.DoubleUnmap, second, first));
    }

    [TestMethod]
    public void SyncRules()
    {
        var h = new CheckerHarness();
        int map = h.Map(Nvme, 0x1000, 4096, "TO_DEVICE");
        int inside = h.Sync(Nvme, 0x1800, 1024, "TO_DEVICE", forCpu: false);                 // fine
        int overrun = h.Sync(Nvme, 0x1800, 4096, "TO_DEVICE", forCpu: false);                // runs past the end
        int nothing = h.Sync(Nvme, 0x9000, 64, "TO_DEVICE", forCpu: true);                   // nothing there
        int wrongDir = h.Sync(Nvme, 0x1000, 4096, "FROM_DEVICE", forCpu: true);              // check_sync steps 4 and 5 both fire
        int readOnly = h.Sync(Nvme, 0x1000, 4096, "BIDIRECTIONAL", forCpu: true);            // TO_DEVICE memory synced for cpu
        h.Unmap(Nvme, 0x1000, 4096, "TO_DEVICE");
        int afterUnmap = h.Sync(Nvme, 0x1000, 4096, "TO_DEVICE", forCpu: false);
        Assert.IsTrue(inside > 0);
        AssertFindings(h.Run(),
            (Rules.SyncOutOfBounds, overrun, map),
            (Rules.SyncNotMapped, nothing, null),
            (Rules.SyncDirectionMismatch, wrongDir, map), (Rules.SyncDirectionMismatch, wrongDir, map),
            (Rules.SyncDirectionMismatch, readOnly, map), (Rules.SyncDirectionMismatch, readOnly, map),
            (Rules.SyncNotMapped, afterUnmap, afterUnmap - 1));
    }

    [TestMethod]
    public void BidirectionalMappingsAcceptEverySyncDirection()
    {
        var h = new CheckerHarness();
        h.Map(Nvme, 0x1000, 4096, "BIDIRECTIONAL");
        h.Sync(Nvme, 0x1000, 4096, "TO_DEVICE", forCpu: true);
        h.Sync(Nvme, 0x1000, 4096, "FROM_DEVICE", forCpu: false);
        AssertFindings(h.Run());
    }

    [TestMethod]
    public void MapFailuresAndTheirErrorHandle()
    {
        var h = new CheckerHarness();
        int failed = h.Map(Nvme, ulong.MaxValue, 258048, phys: 0x39e7b000);
        int used = h.Unmap(Nvme, ulong.MaxValue, 258048);
        var f = h.Run();
        AssertFindings(f, (Rules.MapFailed, failed, null), (Rules.MapErrorHandleUsed, used, failed));
        Assert.AreEqual(Severity.Info, f[0].Severity);
        Assert.AreEqual(Severity.Error, f[1].Severity);
    }

    [TestMethod]
    public void CachelineOverlapOnlyWhereThePlatformReportsIt()
    {
        var h = new CheckerHarness();
        int first = h.Map(Nvme, 0x1000, 64, phys: 0x1000);
        int second = h.Map(Nvme, 0x1020, 32, phys: 0x1020);                   // same 64-byte line, device writes both
        h.Map(Nvme, 0x1030, 16, "TO_DEVICE", phys: 0x1030);                   // TO_DEVICE is never tracked
        h.Map(Nvme, 0x1038, 8, attrs: "SKIP_CPU_SYNC", phys: 0x1038);         // counted, but SKIP_CPU_SYNC is not reported
        AssertFindings(h.Run(new CheckOptions { Platform = CheckPlatform.X86_64 }));           // x86: alignment 1 < 64
        var arm64 = CheckPlatform.From(global::DmaReplay.Engine.Platform.PlatformPresets.Arm64NonCoherentSoc() with { BounceUnalignedKmalloc = false });
        AssertFindings(h.Run(new CheckOptions { Platform = arm64 }), (Rules.CachelineOverlap, second, first));
        var overlap = h.Run(new CheckOptions { Platform = arm64 }).Single();
        StringAssert.Contains(overlap.Message, "non-coherent device: maintenance of the shared cache line can corrupt");
        Assert.AreEqual(Severity.Error, overlap.Severity);
    }

    [TestMethod]
    public void WithKmallocBouncingOnlyOverlapsOfBuffersThatDidNotBounceAreReported()
    {
        // With CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC and SWIOTLB, dma-debug exempts every overlap: it
        // assumes the small buffer bounced (add_dma_entry, 6.12). A bounced buffer's own line is
        // never DMA'd, so that stays quiet; one the trace shows mapped in place is reported.
        var arm64 = new CheckOptions { Platform = CheckPlatform.From(global::DmaReplay.Engine.Platform.PlatformPresets.Arm64NonCoherentSoc()) };
        var bounced = new CheckerHarness();
        bounced.Map(Nvme, 0x1000, 64, phys: 0x1000);
        bounced.Add("swiotlb_bounced", $"dev_name: {Nvme} dma_mask=ffffffffffffffff dev_addr=1020 size=32 NORMAL");
        bounced.Map(Nvme, 0xfbc00000, 32, phys: 0x1020);
        AssertFindings(bounced.Run(arm64));

        var inPlace = new CheckerHarness();
        int first = inPlace.Map(Nvme, 0x1000, 64, phys: 0x1000);
        inPlace.Add("swiotlb_bounced", $"dev_name: {Nvme} dma_mask=ffffffffffffffff dev_addr=9000 size=32 NORMAL", cpu: 1); // another CPU's bounce
        int second = inPlace.Map(Nvme, 0x1020, 48, phys: 0x1020);
        var f = inPlace.Run(arm64);
        AssertFindings(f, (Rules.CachelineOverlap, second, first));
        StringAssert.Contains(f[0].Message, "buffer not bounced");
        // A coherent device on the same platform: dma-debug's exemption, nothing reported.
        var coherent = new CheckOptions { Platform = CheckPlatform.From(global::DmaReplay.Engine.Platform.PlatformSettings.Apply(
            global::DmaReplay.Engine.Platform.PlatformPresets.Arm64NonCoherentSoc(), [$"device.{Nvme}.coherent=true"])) };
        AssertFindings(inPlace.Run(coherent));
    }

    [TestMethod]
    public void MoreThanSevenOverlapsOfOneCachelineWarnEvenOnX86()
    {
        var h = new CheckerHarness();
        int first = h.Map(Nvme, 0x1000, 64, phys: 0x1000);
        for (int i = 1; i <= 7; i++) h.Map(Nvme, 0x1000 + (ulong)i * 8, 8, phys: 0x1000 + (ulong)i * 8);
        int eighth = h.Map(Nvme, 0x1040 - 4, 4, phys: 0x103c);
        AssertFindings(h.Run(), (Rules.CachelineOverlap, eighth, first));
    }

    [TestMethod]
    public void SegmentLimitsComeFromThePlatform()
    {
        var h = new CheckerHarness();
        int map = h.MapSg(Nvme, "TO_DEVICE", [0x10000, 0x2fff0000], [0x10000, 0xfffff000], [0x20000, 0x2000]);
        AssertFindings(h.Run());
        var platform = global::DmaReplay.Engine.Platform.PlatformSettings.Apply(global::DmaReplay.Engine.Platform.PlatformPresets.X86Default(),
            [$"device.{Nvme}.max_segment_size=65536", $"device.{Nvme}.segment_boundary=0xffffffff"]);
        var f = h.Run(new CheckOptions { Platform = CheckPlatform.From(platform) });
        AssertFindings(f, (Rules.SgSegmentTooLong, map, null), (Rules.SgSegmentCrossesBoundary, map, null));
        StringAssert.Contains(f[0].Message, "[len=131072] [max=65536]");
        StringAssert.Contains(f[1].Message, "[start=0x00000000fffff000] [end=0x0000000100000fff] [boundary=0x00000000ffffffff]");
    }

    [TestMethod]
    public void BestFitFindsNothingWhenSeveralImperfectMatchesExist()
    {
        // __hash_bucket_find: two entries at one address, neither a perfect fit for the unmap → "not found".
        var h = new CheckerHarness();
        h.Map(Nvme, 0x1000, 4096, "TO_DEVICE");
        h.Map(Nvme, 0x1000, 2048, "FROM_DEVICE");
        int bad = h.Unmap(Nvme, 0x1000, 1024, "BIDIRECTIONAL");
        var f = h.Run();
        AssertFindings(f, (Rules.UnmapNotMapped, bad, null));
        StringAssert.Contains(f[0].Message, "2 live mappings share this address and none fits exactly");
    }

    [TestMethod]
    public void BestFitPicksTheEntryThatMatchesBest()
    {
        var h = new CheckerHarness();
        h.Map(Nvme, 0x1000, 4096, "TO_DEVICE");
        h.Map(Nvme, 0x1000, 2048, "FROM_DEVICE");
        h.Unmap(Nvme, 0x1000, 2048, "FROM_DEVICE");
        h.Unmap(Nvme, 0x1000, 4096, "TO_DEVICE");
        AssertFindings(h.Run(withLeaks: true));
    }

    [TestMethod]
    public void LeaksAtTheEndAreOnePerMappingWithTheirAge()
    {
        var h = new CheckerHarness();
        int single = h.Map(Nic, 0x9000, 1522);
        int sg = h.MapSg(Nvme, "FROM_DEVICE", [0x10000, 0x20000], [0x10000, 0x20000], [0x1000, 0x800]);
        int alloc = h.Alloc(Nic, 0x7000, 512, 0x1234);
        h.Map(Nvme, 0x30000, 4096);
        var f = h.Run(withLeaks: true).Where(x => x.Rule == Rules.LeakAtEnd).ToList();
        Assert.HasCount(4, f);
        CollectionAssert.AreEqual(new long[] { single, sg, alloc, alloc + 1 }, f.Select(x => x.Line).ToArray());
        Assert.AreEqual(0x1800UL, f[1].Size);
        StringAssert.Contains(f[1].Message, "[segments=2] [mapped with DMA_FROM_DEVICE] [mapped as scatter-gather] [age=0.000020 s]");
        StringAssert.Contains(f[2].Message, "[mapped as coherent]");
        Assert.AreEqual(Severity.Info, f[0].Severity);
    }

    [TestMethod]
    public void LeakGrowthNeedsARisingFloor()
    {
        var leaking = new CheckerHarness();
        for (int i = 0; i < 400; i++)
        {
            leaking.Map(Nvme, 0x100000 + (ulong)i * 0x1000, 4096);                          // kept: the leak
            leaking.Map(Nic, 0x900000, 1522);
            leaking.Unmap(Nic, 0x900000, 1522);
        }
        var growth = leaking.Run().Where(f => f.Rule == Rules.LeakGrowth).ToList();
        Assert.HasCount(1, growth);
        Assert.AreEqual(Nvme, growth[0].Device);
        Assert.AreEqual(Severity.Warning, growth[0].Severity);

        // An rx ring fills once at start-up and then stays level: one step up, not a leak.
        var ring = new CheckerHarness();
        for (int i = 0; i < 256; i++) ring.Map(Nic, 0x100000 + (ulong)i * 0x1000, 1522);  // an rx ring: filled once
        for (int round = 0; round < 4; round++)
        {
            for (int i = 0; i < 256; i++)
            {
                ring.Unmap(Nic, 0x100000 + (ulong)i * 0x1000, 1522);
                ring.Map(Nic, 0x100000 + (ulong)i * 0x1000, 1522);
            }
        }
        Assert.IsFalse(ring.Run().Any(f => f.Rule == Rules.LeakGrowth));

        // A ring whose fill spans several windows of a short trace (floors 0, 150, 252, 252, 253, …):
        // it rises in five steps, but almost all of it early.
        var slowFill = new CheckerHarness();
        for (int i = 0; i < 256; i++) slowFill.Map(Nic, 0x100000 + (ulong)i * 0x1000, 1522);
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < 256; i++)
            {
                slowFill.Unmap(Nic, 0x100000 + (ulong)i * 0x1000, 1522);
                slowFill.Map(Nic, 0x100000 + (ulong)i * 0x1000, 1522);
                if (i % 64 == 0) slowFill.Map(Nic, 0x900000 + (ulong)(round * 4 + i / 64) * 0x1000, 64); // a few stay: +1 per window
            }
        }
        Assert.IsFalse(slowFill.Run().Any(f => f.Rule == Rules.LeakGrowth));
    }

    [TestMethod]
    public void RulesCanBeDisabledAndFindingsSuppressed()
    {
        var h = new CheckerHarness();
        h.Unmap(Nvme, 0x5000, 4096);
        int kept = h.Unmap(Nic, 0x6000, 4096);
        AssertFindings(h.Run(new CheckOptions { EnabledRules = CheckOptions.ParseRules("-unmap-not-mapped") }));
        var suppress = SuppressionList.Parse("# the nvme one is known\nunmap-not-mapped 0000:00:02.*\n", "s.supp");
        AssertFindings(h.Run(new CheckOptions { Suppressions = suppress }), (Rules.UnmapNotMapped, kept, null));
        Assert.ThrowsExactly<FormatException>(() => SuppressionList.Parse("no-such-rule *", "bad.supp"));
        Assert.ThrowsExactly<FormatException>(() => CheckOptions.ParseRules("double-unmap,bogus"));
        CollectionAssert.AreEquivalent(new[] { Rules.DoubleUnmap, Rules.LeakAtEnd }, CheckOptions.ParseRules("double-unmap,leak-at-end").ToArray());
    }

    [TestMethod]
    public void FindingsCarryTheStacksOfBothEvents()
    {
        var h = TraceHarnessRun("""
                kworker/0:1-42      [000] .....     1.000010: dma_map_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=1000 attrs=
                kworker/0:1-42      [000] .....     1.000011: <stack trace>
             => trace_event_raw_event_dma_map
             => dma_map_page_attrs
             => nvme_map_data
                kworker/0:1-42      [000] .....     1.000020: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=4096 attrs=
                kworker/0:1-42      [000] .....     1.000030: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=4096 attrs=
                kworker/0:1-42      [000] .....     1.000031: <stack trace>
             => trace_event_raw_event_dma_unmap
             => dma_unmap_page_attrs
             => nvme_unmap_data
            """);
        var f = h.Single();
        Assert.AreEqual(Rules.DoubleUnmap, f.Rule);
        Assert.AreEqual(7L, f.Line);
        CollectionAssert.AreEqual(new[] { "trace_event_raw_event_dma_unmap", "dma_unmap_page_attrs", "nvme_unmap_data" }, f.Stack.ToArray());
        Assert.AreEqual("nvme_unmap_data", f.CallSite);
        Assert.AreEqual(6L, f.Related!.Line);
        Assert.AreEqual("kworker/0:1", f.Task);
        Assert.AreEqual(42, f.Pid);
    }

    private static IReadOnlyList<Finding> TraceHarnessRun(string text)
    {
        var strings = new global::DmaReplay.Parsers.Model.TraceStrings();
        var checker = new MisuseChecker(new CheckOptions(), strings, "t");
        new global::DmaReplay.Parsers.Ftrace.FtraceTextReader(strings, checker).Read(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text + "\n")), "t", 0);
        return checker.Findings;
    }
}
