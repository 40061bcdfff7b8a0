using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Parsers;

/// <summary>The hand-made traces in traces/edge: every event form the kernel prints, decoded field by field.</summary>
[TestClass]
public sealed class FtraceEdgeCaseTests
{
    private static TraceHarness AllEvents() => TraceHarness.ReadFile(TestPaths.Traces("edge", "all-events.trace"));

    [TestMethod]
    public void EveryKindIsRecognisedAndNothingIsMalformed()
    {
        var h = AllEvents();
        h.AssertAccounted();
        Assert.AreEqual(0L, h.Stats.Malformed, string.Join("\n", h.Stats.Diagnostics));
        Assert.AreEqual(40L, h.Stats.Events);
        Assert.AreEqual(2L, h.Stats.SkippedCount(SkipReason.OtherEvent));
        Assert.AreEqual(12L, h.Stats.SkippedCount(SkipReason.Header));
        Assert.AreEqual("ftrace", h.Stats.Format);
        Assert.AreEqual(4, h.Stats.HeaderCpus);
        for (int k = 0; k < DmaEventKinds.Count; k++)
        {
            var kind = (DmaEventKind)k;
            if (kind.System() == TraceSystem.DmaReplay) continue; // synthetic-only: SyntheticEventGrammarTests
            Assert.IsGreaterThanOrEqualTo(1L, h.Stats.EventCount(kind), kind.Name());
        }
        CollectionAssert.AreEqual(new[] { "sched_switch", "tracing_mark_write" }, h.Stats.OtherEvents.Select(o => o.Key).ToArray());
    }

    [TestMethod]
    public void MapPageCarriesContextAndEveryField()
    {
        var h = AllEvents();
        var e = h.Single(DmaEventKind.DmaMapPage);
        Assert.AreEqual("kworker/u8:0", h.Task(e));
        Assert.AreEqual(12, e.Pid);
        Assert.AreEqual(-1, e.Tgid);
        Assert.AreEqual(1, e.Cpu);
        Assert.AreEqual(100_000_137_000L, e.TimestampNs);
        Assert.AreEqual("0000:01:00.0", h.Device(e));
        Assert.AreEqual(DmaDirection.ToDevice, e.Direction);
        Assert.AreEqual(0x1234000UL, e.DmaAddr);
        Assert.AreEqual(0x1234000UL, e.PhysAddr);
        Assert.AreEqual(4096UL, e.Size);
        Assert.AreEqual(DmaAttrs.SkipCpuSync | DmaAttrs.NoWarn, e.Attrs);
        Assert.AreEqual(new SourcePosition(0, 13, e.Position.ByteOffset), e.Position);
        Assert.AreEqual(TraceContextFlags.None, e.Flags);
    }

    [TestMethod]
    public void IrqContextFlagsAreDecoded()
    {
        var h = AllEvents();
        var e = h.Single(DmaEventKind.DmaUnmapPage);
        Assert.AreEqual("<idle>", h.Task(e));
        Assert.AreEqual(TraceContextFlags.IrqsOff | TraceContextFlags.HardIrq, e.Flags);
        Assert.AreEqual((byte)1, e.PreemptDepth);
        Assert.AreEqual((byte)0, e.MigrateDisable);
        var sync = h.Events.First(x => x.Kind == DmaEventKind.DmaSyncSingleForCpu);
        Assert.AreEqual(TraceContextFlags.SoftIrq, sync.Flags);
    }

    [TestMethod]
    public void NewestFormsAndLeftoverAttributeBits()
    {
        var h = AllEvents();
        var phys = h.Single(DmaEventKind.DmaMapPhys);
        Assert.AreEqual(0xfffff000UL, phys.DmaAddr);
        Assert.AreEqual(0x1234000UL, phys.PhysAddr);
        Assert.AreEqual(DmaAttrs.Mmio | (DmaAttrs)0x10000, phys.Attrs);
        Assert.AreEqual(DmaDirection.FromDevice, h.Single(DmaEventKind.DmaUnmapPhys).Direction);
    }

    [TestMethod]
    public void AllocationsKeepVirtAddrAndGfp()
    {
        var h = AllEvents();
        var a = h.Single(DmaEventKind.DmaAlloc);
        Assert.AreEqual(0x7fd46000UL, a.DmaAddr);
        Assert.AreEqual(512UL, a.Size);
        Assert.AreEqual(0xbb9e9702UL, a.VirtAddr);
        Assert.AreEqual("GFP_KERNEL", h.Strings.TextOf(a.GfpText));
        Assert.AreEqual(GfpFlags.Kernel, a.Gfp);
        Assert.IsFalse(a.Gfp.IsNonBlocking());
        var pages = h.Single(DmaEventKind.DmaAllocPages);
        Assert.AreEqual(GfpFlags.Atomic | GfpFlags.Zero, pages.Gfp);
        Assert.IsTrue(pages.Gfp.IsNonBlocking());
        var free = h.Single(DmaEventKind.DmaFree);
        Assert.AreEqual(0xbb9e9702UL, free.VirtAddr);
        Assert.AreEqual(-1, free.GfpText);
        var sgt = h.Single(DmaEventKind.DmaAllocSgt);
        CollectionAssert.AreEqual(new ulong[] { 0x1000000, 0x2000000 }, sgt.PhysAddrs);
        Assert.AreEqual(2, sgt.Nents);
        Assert.AreEqual(16384UL, sgt.Size);
        CollectionAssert.AreEqual(new ulong[] { 0x1000000, 0x2000000 }, h.Single(DmaEventKind.DmaFreeSgt).PhysAddrs);
        var err = h.Single(DmaEventKind.DmaAllocSgtErr);
        Assert.AreEqual(0UL, err.DmaAddr);
        Assert.AreEqual(GfpFlags.NoWait, err.Gfp);
    }

    [TestMethod]
    public void ScatterGatherInBothPrintedForms()
    {
        var h = AllEvents();
        var sgs = h.Events.Where(e => e.Kind == DmaEventKind.DmaMapSg).ToList();
        Assert.HasCount(2, sgs);
        var old = sgs[0];
        Assert.AreEqual(2, old.Nents);
        Assert.AreEqual(2, old.Ents);
        Assert.IsFalse(old.Truncated);
        CollectionAssert.AreEqual(new ulong[] { 0xaf21000, 0xaf04000 }, old.DmaAddrs);
        CollectionAssert.AreEqual(new ulong[] { 0x1000, 0x1000 }, old.Lengths);
        CollectionAssert.AreEqual(new ulong[] { 0xaf21000, 0xaf04000 }, old.PhysAddrs);
        Assert.AreEqual(DmaAttrs.NoWarn, old.Attrs);
        Assert.AreEqual("dd", h.Task(old));

        var truncated = sgs[1];
        Assert.AreEqual(130, truncated.Nents);
        Assert.AreEqual(130, truncated.Ents);
        Assert.IsTrue(truncated.Truncated);
        Assert.HasCount(128, truncated.PhysAddrs);
        Assert.HasCount(128, truncated.DmaAddrs);
        Assert.AreEqual(0x10000000UL + 127 * 0x2000, truncated.PhysAddrs[127]);

        var err = h.Single(DmaEventKind.DmaMapSgErr);
        Assert.AreEqual(-22, err.Error);
        CollectionAssert.AreEqual(new ulong[] { 0x1000, 0x2000 }, err.PhysAddrs);
        Assert.AreEqual(2, err.Nents);

        var unmap = h.Single(DmaEventKind.DmaUnmapSg);
        CollectionAssert.AreEqual(new ulong[] { 0xaf21000, 0xaf04000 }, unmap.PhysAddrs);
        Assert.AreEqual(DmaAttrs.None, unmap.Attrs);
    }

    [TestMethod]
    public void SyncEvents()
    {
        var h = AllEvents();
        var s = h.Single(DmaEventKind.DmaSyncSingleForDevice);
        Assert.AreEqual(0x1234000UL, s.DmaAddr);
        Assert.AreEqual(2048UL, s.Size);
        var sg = h.Single(DmaEventKind.DmaSyncSgForCpu);
        CollectionAssert.AreEqual(new ulong[] { 0xaf21000, DmaAddress.MappingError }, sg.DmaAddrs);
        CollectionAssert.AreEqual(new ulong[] { 0x1000, 0 }, sg.Lengths);
        Assert.AreEqual(2, sg.Nents);
    }

    [TestMethod]
    public void SwiotlbBouncedReasons()
    {
        var h = AllEvents();
        var b = h.Events.Where(e => e.Kind == DmaEventKind.SwiotlbBounced).ToList();
        CollectionAssert.AreEqual(new[] { SwiotlbBounceReason.Normal, SwiotlbBounceReason.Force, SwiotlbBounceReason.NoForce }, b.Select(x => x.BounceReason).ToArray());
        Assert.AreEqual(0xffffffffUL, b[0].DmaMask);
        Assert.AreEqual(0x178ef7000UL, b[0].DmaAddr);
        Assert.AreEqual(4096UL, b[0].Size);
        Assert.AreEqual(ulong.MaxValue, b[1].DmaMask);
        Assert.AreEqual("0000:01:00.0", h.Device(b[2]));
    }

    [TestMethod]
    public void IommuEventsInOldAndNewForms()
    {
        var h = AllEvents();
        var maps = h.Events.Where(e => e.Kind == DmaEventKind.IommuMap).ToList();
        Assert.AreEqual(0xfffff000UL, maps[0].DmaAddr);
        Assert.AreEqual(0x1234000UL, maps[0].PhysAddr);
        Assert.AreEqual(4096UL, maps[0].Size);
        Assert.AreEqual(0xffffe000UL, maps[1].DmaAddr);
        Assert.AreEqual(0x1235000UL, maps[1].PhysAddr);
        var unmaps = h.Events.Where(e => e.Kind == DmaEventKind.IommuUnmap).ToList();
        Assert.AreEqual(4096UL, unmaps[0].UnmappedSize);
        Assert.AreEqual(0xffffe000UL, unmaps[1].DmaAddr);
        Assert.AreEqual(-1, maps[0].Device);

        var fault = h.Single(DmaEventKind.IommuIoPageFault);
        Assert.AreEqual("DMAR", h.Strings.TextOf(fault.Driver));
        Assert.AreEqual("0000:01:00.0", h.Device(fault));
        Assert.AreEqual(0xdead0000UL, fault.DmaAddr);
        Assert.AreEqual(2, fault.FaultFlags);
        Assert.AreEqual("irq/24-dmar0", h.Task(fault));

        Assert.AreEqual(7, h.Single(DmaEventKind.IommuAddDeviceToGroup).GroupId);
        Assert.AreEqual(7, h.Single(DmaEventKind.IommuRemoveDeviceFromGroup).GroupId);
        Assert.AreEqual("0000:01:00.0", h.Device(h.Single(DmaEventKind.IommuAttachDeviceToDomain)));
        Assert.AreEqual("0000:01:00.0", h.Device(h.Single(DmaEventKind.IommuDetachDeviceFromDomain)));
    }

    [TestMethod]
    public void FenceEventsWithATimelineNameContainingSpaces()
    {
        var h = AllEvents();
        var fences = h.Events.Where(e => e.Kind.IsFence()).ToList();
        Assert.HasCount(7, fences);
        foreach (var f in fences)
        {
            Assert.AreEqual("amdgpu", h.Strings.TextOf(f.Driver));
            Assert.AreEqual("gfx ring 0", h.Strings.TextOf(f.Timeline));
            Assert.AreEqual(42u, f.Context);
            Assert.AreEqual(7UL, f.Seqno);
            Assert.AreEqual(-1, f.Device);
        }
        Assert.AreEqual(TraceContextFlags.IrqsOff | TraceContextFlags.HardIrq, h.Single(DmaEventKind.DmaFenceSignaled).Flags);
    }

    [TestMethod]
    public void TracePipeWithTgidFourCharFlagsCrlfStacksAndATruncatedLastLine()
    {
        var h = TraceHarness.ReadFile(TestPaths.Traces("edge", "pipe-tgid-crlf.trace"));
        h.AssertAccounted();
        Assert.AreEqual("trace_pipe", h.Stats.Format);
        Assert.AreEqual(16L, h.Stats.Lines);
        Assert.AreEqual(3L, h.Stats.Events);
        Assert.AreEqual(1L, h.Stats.SkippedCount(SkipReason.OtherEvent));
        Assert.AreEqual(8L, h.Stats.SkippedCount(SkipReason.StackTrace));
        Assert.AreEqual(3L, h.Stats.StackTraces);
        Assert.AreEqual(5L, h.Stats.StackFrames);
        Assert.AreEqual(1L, h.Stats.SkippedCount(SkipReason.LostEventsMarker));
        Assert.AreEqual(17L, h.Stats.LostEvents);
        Assert.AreEqual(1L, h.Stats.SkippedCount(SkipReason.CpuBufferStarted));
        Assert.AreEqual(1L, h.Stats.SkippedCount(SkipReason.Blank));
        Assert.AreEqual(1L, h.Stats.Malformed);
        var d = h.Stats.Diagnostics.Single();
        Assert.AreEqual(16L, d.Line);
        StringAssert.Contains(d.Reason, "truncated");

        var map = h.Events[0];
        Assert.AreEqual("nvme-dev worker", h.Task(map));
        Assert.AreEqual(731, map.Pid);
        Assert.AreEqual(700, map.Tgid);
        Assert.AreEqual(2, map.Cpu);
        CollectionAssert.AreEqual(new[] { "trace_event_raw_event_dma_map", "dma_map_page_attrs", "nvme_queue_rq" }, h.Stack(map.KernelStack));
        CollectionAssert.AreEqual(new[] { "<00007f00deadbeef>" }, h.Stack(map.UserStack));
        Assert.AreEqual(512UL, map.Size, "CR was stripped before the last field");

        var unmap = h.Events[1];
        Assert.AreEqual(-1, unmap.Tgid, "(-------) means no tgid");
        Assert.AreEqual(TraceContextFlags.IrqsOff | TraceContextFlags.HardIrq, unmap.Flags);
        Assert.AreEqual(-1, unmap.KernelStack, "the stack after tracing_mark_write is not this event's");
        Assert.AreEqual("a-b-c", h.Strings.Tasks.Strings.Single(t => t.StartsWith('a')));
    }

    [TestMethod]
    public void TraceCmdReportOutputIncludingItsRawScatterGatherDump()
    {
        var h = TraceHarness.ReadFile(TestPaths.Traces("edge", "trace-cmd-report.trace"));
        h.AssertAccounted();
        Assert.AreEqual("trace-cmd-report", h.Stats.Format);
        Assert.AreEqual(0L, h.Stats.Malformed, string.Join("\n", h.Stats.Diagnostics));
        Assert.AreEqual(3L, h.Stats.Events);
        Assert.AreEqual("print", h.Stats.OtherEvents.Single().Key);
        Assert.AreEqual(123L, h.Stats.LostEvents);
        Assert.AreEqual(2L, h.Stats.LostEventMarkers);

        Assert.AreEqual(0xff3180c5bfd46000UL, h.Single(DmaEventKind.DmaAlloc).VirtAddr);
        var sg = h.Single(DmaEventKind.DmaMapSg);
        Assert.AreEqual("0000:00:02.0", h.Device(sg));
        Assert.AreEqual(DmaDirection.FromDevice, sg.Direction);
        Assert.AreEqual(DmaAttrs.NoWarn, sg.Attrs);
        CollectionAssert.AreEqual(new ulong[] { 0xaf21000, 0xaf04000 }, sg.PhysAddrs);
        CollectionAssert.AreEqual(new ulong[] { 0xaf21000, 0xaf04000 }, sg.DmaAddrs);
        CollectionAssert.AreEqual(new ulong[] { 0x1000, 0x1000 }, sg.Lengths);
        Assert.AreEqual(2, sg.Nents);
        Assert.AreEqual(2, sg.Ents);
        Assert.AreEqual(6_605_259_000L, sg.TimestampNs);
    }
}
