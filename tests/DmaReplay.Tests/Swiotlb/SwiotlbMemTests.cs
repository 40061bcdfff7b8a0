using DmaReplay.Engine;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Swiotlb;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Swiotlb;

/// <summary>Slot choices worked out by hand from kernel/dma/swiotlb.c (6.12) for small call sequences.</summary>
[TestClass]
public sealed class SwiotlbMemTests
{
    private const ulong Start = 0x7000_0000;
    private static readonly BounceDevice Plain = new(0, ulong.MaxValue);
    private static readonly BounceDevice Nvme = new(0xfff, 0xffff_ffff);

    private static SwiotlbMem Pool(int nslabs = 1024, int nareas = 2) =>
        new(new SwiotlbConfig { Start = Start, Nslabs = nslabs, Nareas = nareas, Force = true }, KernelDefaults.Linux612);

    private static ulong Map(SwiotlbMem m, BounceDevice d, ulong orig, ulong size, int cpu = 0, ulong align = 0)
    {
        var r = m.Map(d, orig, size, align, cpu, pa => pa);
        return r.Ok ? r.TlbAddr : DmaAddress.MappingError;
    }

    private static ulong Slot(int i) => Start + (ulong)i * 2048;

    [TestMethod]
    public void TheAreaFollowsTheCpuAndItsCursorAdvances()
    {
        var m = Pool();
        Assert.AreEqual(Slot(512), Map(m, Plain, 0x100000, 4096, cpu: 1), "cpu 1 searches area 1 (slots 512–1023) first");
        Assert.AreEqual(Slot(0), Map(m, Plain, 0x200000, 100, cpu: 0));
        Assert.AreEqual(Slot(1), Map(m, Plain, 0x300000, 100, cpu: 2), "cpu & (nareas - 1)");
        Assert.AreEqual(2, m.AreaIndex(0));
        Assert.AreEqual(2, m.AreaIndex(1));
        Assert.AreEqual(4L, m.Used);
    }

    [TestMethod]
    public void PageSizedMappingsWithoutMinAlignStayPageAligned()
    {
        var m = Pool();
        Assert.AreEqual(Slot(0), Map(m, Plain, 0x1000, 2048));
        // alloc_size >= PAGE_SIZE and no min_align_mask: alloc_align_mask = PAGE_SIZE - 1, stride 2 → slot 1 is skipped.
        Assert.AreEqual(Slot(2), Map(m, Plain, 0x5000, 4096));
        Assert.AreEqual(Slot(4), Map(m, Plain, 0x9000, 2048), "the search starts at the cursor (4), not at the free slot 1");
    }

    [TestMethod]
    public void MinAlignMaskKeepsTheLowBitsOfTheBuffer()
    {
        var m = Pool();
        Assert.AreEqual(Slot(0), Map(m, Nvme, 0xa2d7000, 4096));
        // 512 bytes at ...400: offset 0x400 is kept; bit 11 of the slot must equal the buffer's (0): slot 2, not 3.
        Assert.AreEqual(Slot(2) + 0x400, Map(m, Nvme, 0x78e55400, 512));
        // ...c00: bit 11 set → an odd slot; offset 0x400 within it.
        Assert.AreEqual(Slot(3) + 0x400, Map(m, Nvme, 0x78e55c00, 512));
    }

    [TestMethod]
    public void ReleaseMergesWithTheFreeRunsAround()
    {
        var m = Pool(nslabs: 256, nareas: 1);
        ulong a = Map(m, Plain, 0x10000, 2048); // slot 0
        ulong b = Map(m, Plain, 0x20000, 2048); // slot 1
        ulong c = Map(m, Plain, 0x30000, 2048); // slot 2
        Assert.AreEqual(3L, m.Used);
        Assert.IsTrue(m.Unmap(Plain, b, 2048, DmaDirection.ToDevice, DmaAttrs.None));
        Assert.IsTrue(m.Unmap(Plain, a, 2048, DmaDirection.ToDevice, DmaAttrs.None));
        Assert.IsTrue(m.Unmap(Plain, c, 2048, DmaDirection.ToDevice, DmaAttrs.None));
        Assert.AreEqual(0L, m.Used);
        Assert.AreEqual(128, m.LargestFreeRun(), "a whole segment is free again");
        Assert.AreEqual(3, m.AreaIndex(0), "release does not move the cursor");
        Assert.IsFalse(m.Unmap(Plain, 0x1234, 16, DmaDirection.ToDevice, DmaAttrs.None), "not a bounce buffer");
    }

    [TestMethod]
    public void NoMappingSpansASegmentAndTheMaximumIs256KiB()
    {
        var m = Pool(nslabs: 256, nareas: 1);
        Assert.AreEqual(Slot(0), Map(m, Plain, 0x100000, 100 * 2048));
        // 100 slots are taken from segment 0; 60 do not fit in its last 28, so they start at slot 128.
        Assert.AreEqual(Slot(128), Map(m, Plain, 0x200000, 60 * 2048));
        Assert.AreEqual(DmaAddress.MappingError, Map(m, Plain, 0x300000, 129 * 2048), "more than IO_TLB_SEGSIZE slots never fit");
        Assert.AreEqual(256UL * 1024 - 4096, m.MaxMappingSize(Nvme), "swiotlb_max_mapping_size with min_align_mask 0xfff");
        Assert.AreEqual(1L, m.MapFailures);
    }

    [TestMethod]
    public void AFullAreaSendsTheSearchToTheNext()
    {
        var m = Pool(nslabs: 256, nareas: 2); // 128 slots per area
        Assert.AreEqual(Slot(0), Map(m, Plain, 0x100000, 128 * 2048, cpu: 0));
        Assert.AreEqual(Slot(128), Map(m, Plain, 0x200000, 2048, cpu: 0), "area 0 is full: area 1");
        Assert.AreEqual(DmaAddress.MappingError, Map(m, Plain, 0x300000, 128 * 2048, cpu: 1));
        Assert.AreEqual(129L, m.UsedHiwater);
    }

    [TestMethod]
    public void AnIommuGranuleAlignmentUsesPadSlots()
    {
        var m = Pool();
        // dma-iommu passes alloc_align_mask = granule - 1; offset 0x900 of a 4 KiB granule: one pad slot.
        var dev = new BounceDevice(0xfff, ulong.MaxValue);
        var r = m.Map(dev, 0x12345900, 0x200, 0xfff, 0, pa => pa);
        Assert.IsTrue(r.Ok);
        Assert.AreEqual(Slot(1) + 0x100, r.TlbAddr, "the data starts in the slot after the pad, keeping offset 0x900 from the aligned start");
        Assert.AreEqual(2, r.Slots);
        Assert.IsTrue(m.Unmap(dev, r.TlbAddr, 0x200, DmaDirection.FromDevice, DmaAttrs.None));
        Assert.AreEqual(0L, m.Used, "the pad slot is released with the mapping");
    }

    [TestMethod]
    public void CopiesFollowTheDirectionRules()
    {
        var m = Pool();
        ulong to = Map(m, Plain, 0x100000, 1000);
        ulong from = Map(m, Plain, 0x200000, 1000);
        ulong bidi = Map(m, Plain, 0x300000, 1000);
        Assert.AreEqual(3000L, m.BytesToDevice, "the map copies the buffer in, whatever the direction");
        m.Sync(Plain, from, 1000, DmaDirection.FromDevice, forCpu: true);
        m.Sync(Plain, to, 1000, DmaDirection.ToDevice, forCpu: true); // nothing to copy back
        m.Sync(Plain, to, 1000, DmaDirection.ToDevice, forCpu: false);
        Assert.AreEqual(4000L, m.BytesToDevice);
        Assert.AreEqual(1000L, m.BytesFromDevice);
        m.Unmap(Plain, to, 1000, DmaDirection.ToDevice, DmaAttrs.None);
        m.Unmap(Plain, from, 1000, DmaDirection.FromDevice, DmaAttrs.SkipCpuSync);
        m.Unmap(Plain, bidi, 1000, DmaDirection.Bidirectional, DmaAttrs.None);
        Assert.AreEqual(2000L, m.BytesFromDevice, "copy back only for FROM_DEVICE/BIDIRECTIONAL without SKIP_CPU_SYNC");
        Assert.AreEqual(6L, m.BounceCopies);
    }

    [TestMethod]
    public void ADynamicPoolGrowsAndServesTheOverflowFromATransientPool()
    {
        var m = new SwiotlbMem(new SwiotlbConfig { Start = Start, Nslabs = 128, Nareas = 1, Dynamic = true }, KernelDefaults.Linux612);
        Assert.AreEqual(Slot(0), Map(m, Plain, 0x100000, 128 * 2048));
        ulong transient = Map(m, Plain, 0x200000, 4096);
        Assert.AreNotEqual(DmaAddress.MappingError, transient);
        Assert.AreEqual(1L, m.TransientMappings);
        Assert.AreEqual(1, m.PoolsAdded);
        Assert.IsTrue(m.Unmap(Plain, transient, 4096, DmaDirection.ToDevice, DmaAttrs.None));
        ulong grown = Map(m, Plain, 0x300000, 4096);
        Assert.IsTrue(grown >= Start + 128 * 2048, "the pool added at the head of the list serves the next mapping");
        Assert.AreEqual(128L + 2, m.Used);
    }

    [TestMethod]
    public void KernelsBefore69MatchTheBufferBit11AndNeverPad()
    {
        var before = new SwiotlbMem(new SwiotlbConfig { Start = Start, Nslabs = 1024, Nareas = 2, Force = true }, KernelDefaults.ForVersion("6.6"));
        var after = Pool();
        // A page at ...800 without min_align_mask: 6.9+ page-aligns it (slot 0); 6.6 keeps bit 11 of the buffer (slot 1).
        Assert.AreEqual(Slot(0), Map(after, Plain, 0x10800, 4096));
        Assert.AreEqual(Slot(1), Map(before, Plain, 0x10800, 4096));
        // A granule-aligned IOMMU bounce at offset 0x900: 6.9+ pads a slot; 6.6 keeps only the offset within a
        // slot (0x100), matches bit 11 of the buffer with the slot (an odd slot) and takes 0x1000 + 0x100 bytes.
        var dev = new BounceDevice(0xfff, ulong.MaxValue);
        var r = before.Map(dev, 0x12345900, 0x200, 0xfff, 1, pa => pa);
        Assert.AreEqual(Slot(513) + 0x100, r.TlbAddr);
        Assert.AreEqual(3, r.Slots, "the granule-aligned alloc_size plus the in-slot offset");
        Assert.IsTrue(before.Unmap(dev, r.TlbAddr, 0x200, DmaDirection.FromDevice, DmaAttrs.None));
        Assert.AreEqual("6.6", PlatformSettings.Apply(PlatformPresets.X86Default(), ["kernel=6.6"]).Kernel.Version);
        Assert.IsFalse(PlatformSettings.Apply(PlatformPresets.X86Default(), ["kernel=6.8"]).Kernel.SwiotlbPadSlots);
        Assert.IsTrue(PlatformSettings.Apply(PlatformPresets.X86Default(), ["kernel=6.12"]).Kernel.SwiotlbPadSlots);
        Assert.ThrowsExactly<FormatException>(() => KernelDefaults.ForVersion("5.15"));
    }
}
