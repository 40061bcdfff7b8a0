using DmaReplay.Engine;
using DmaReplay.Engine.Iommu;
using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Iommu;

/// <summary>dma-iommu on top of the allocator: 32-bit-first, kept offsets, sg layout, coherent allocations, strict and lazy frees.</summary>
[TestClass]
public sealed class DmaIommuTests
{
    private static readonly DeviceModel Nic = new() { Name = "0000:00:03.0", IommuDomain = IommuDomainType.Dma, IommuGroup = 3 };

    private static PlatformModel Platform(IommuConfig? cfg = null, params DeviceModel[] devices) => new()
    {
        Cpus = 2,
        Iommu = cfg ?? new IommuConfig { ApertureEnd = (1UL << 39) - 1 },
        Devices = devices,
    };

    [TestMethod]
    public void APciDeviceUsesThe32BitSpaceUntilItFailsOnceThenTheWholeMask()
    {
        var cfg = new IommuConfig { ApertureEnd = (1UL << 39) - 1, HostBridgeWindows = [new IommuRegion(0x1000, 0xffffdfff, "host-bridge-window")] };
        var io = new DmaIommu(Platform(cfg), null);
        Assert.AreEqual(0xfffff000UL, io.MapPage(Nic, 0x1234000, 4096, 0, 0).Dma);
        var b = io.MapPage(Nic, 0x1235000, 4096, 0, 0);
        Assert.AreEqual(0xffffe000UL, b.Dma, "the only other granule below 4 GiB outside the bridge window");
        Assert.AreEqual(0L, io.DacFallbacks);
        Assert.AreEqual((1UL << 39) - 4096, io.MapPage(Nic, 0x1237000, 4096, 0, 0).Dma, "no room below 4 GiB: the aperture's top");
        Assert.AreEqual(1L, io.DacFallbacks);
        io.UnmapPage(Nic, b, 4096, DmaDirection.ToDevice, DmaAttrs.None, 1, 0);
        Assert.AreEqual((1UL << 39) - 8192, io.MapPage(Nic, 0x1238000, 4096, 0, 0).Dma, "the workaround stays off for this device");
        var other = Nic with { Name = "0000:00:04.0", IommuGroup = 4 };
        Assert.AreEqual(0xfffff000UL, io.MapPage(other, 0x1238000, 4096, 1, 0).Dma, "another domain, another device");
        Assert.AreEqual((1UL << 39) - 4096, io.MapPage(Nic with { Name = "x", Bus = "platform", IommuGroup = null }, 0x1000, 1, 0, 0).Dma & ~0xfffUL,
            "a platform device makes no 32-bit-first attempt");
    }

    [TestMethod]
    public void TheOffsetWithinTheGranuleIsKeptAndTheSizeCoversWholeGranules()
    {
        var io = new DmaIommu(Platform(), null);
        var m = io.MapPage(Nic, 0x78e45c00, 0x200, 0, 0);
        Assert.AreEqual(0xfffffc00UL, m.Dma);
        Assert.AreEqual(0xffffc000UL, io.MapPage(Nic, 0x1000, 0x1001, 0, 0).Dma, "2 granules, aligned to 2");
        Assert.AreEqual(0xffffb000UL, io.Alloc(Nic, 24, 0, 0), "coherent: a page");
        io.UnmapPage(Nic, m, 0x200, DmaDirection.ToDevice, DmaAttrs.None, 0, 0);
        Assert.AreEqual(0xfffff200UL, io.MapPage(Nic, 0x5200, 16, 0, 0).Dma, "strict: back in CPU 0's range cache at once");
    }

    [TestMethod]
    public void ScatterListsAreLaidOutInOneRangeAndMergedOnGranuleBoundaries()
    {
        var io = new DmaIommu(Platform(), null);
        var output = new IommuMapping[4];
        var lens = new ulong[4];
        // a 512-byte head ending a page, two full pages, a 100-byte tail: one range of 4 granules, one segment
        int n = io.MapSg(Nic, [0x10e00, 0x20000, 0x30000, 0x40000], [0x200, 0x1000, 0x1000, 100], output, lens, 0, 0);
        Assert.AreEqual(1, n);
        Assert.AreEqual((0xfffc0e00UL + 0x3c000, 0x2264UL), (output[0].Dma, lens[0]));
        // an entry that does not end on a granule stops the merge
        n = io.MapSg(Nic, [0x10000, 0x20000], [0x800, 0x1000], output, lens, 0, 0);
        Assert.AreEqual(2, n);
        Assert.AreEqual((0xffffa000UL, 0x800UL), (output[0].Dma, lens[0]));
        Assert.AreEqual((0xffffb000UL, 0x1000UL), (output[1].Dma, lens[1]));
        io.UnmapSg(Nic, output.AsSpan(0, 2), lens.AsSpan(0, 2), DmaDirection.FromDevice, DmaAttrs.None, 1, 0);
        Assert.AreEqual(0xffffa000UL, io.MapPage(Nic, 0x3000, 0x2000, 1, 0).Dma, "the sg range went into CPU 1's order-1 cache");
        // max_segment_size 4 KiB: no merging
        var small = Nic with { MaxSegmentSize = 0x1000 };
        Assert.AreEqual(2, new DmaIommu(Platform(), null).MapSg(small, [0x10000, 0x20000], [0x1000, 0x1000], output, lens, 0, 0));
    }

    [TestMethod]
    public void ALazyDomainReusesAnIovaOnlyAfterTheFlushTimer()
    {
        var lazy = Nic with { IommuDomain = IommuDomainType.DmaFq };
        var io = new DmaIommu(Platform(), null);
        var a = io.MapPage(lazy, 0x1000, 4096, 0, 1_000_000);
        io.UnmapPage(lazy, a, 4096, DmaDirection.ToDevice, DmaAttrs.None, 0, 2_000_000); // jiffy 0: timer for jiffy 3 = 12 ms
        Assert.AreEqual(a.Dma - 4096, io.MapPage(lazy, 0x2000, 4096, 0, 11_999_999).Dma, "still queued");
        var fq = io.DomainOf(lazy).Fq!;
        Assert.AreEqual(1, fq.Queued);
        Assert.AreEqual(a.Dma, io.MapPage(lazy, 0x3000, 4096, 0, 12_000_000).Dma, "flushed at the tick, back in CPU 0's cache");
        Assert.AreEqual(1L, fq.TimerFlushes);
    }

    [TestMethod]
    public void AFullQueueFlushesEverythingBeforeQueueingTheNewEntry()
    {
        var lazy = Nic with { IommuDomain = IommuDomainType.DmaFq };
        var io = new DmaIommu(Platform(), null);
        var maps = Enumerable.Range(0, 256).Select(i => io.MapPage(lazy, (ulong)i << 12, 4096, 0, 0)).ToList();
        foreach (var m in maps.Take(255)) io.UnmapPage(lazy, m, 4096, DmaDirection.ToDevice, DmaAttrs.None, 0, 0);
        var fq = io.DomainOf(lazy).Fq!;
        Assert.AreEqual(255, fq.Queued, "IOVA_DEFAULT_FQ_SIZE − 1 entries");
        io.UnmapPage(lazy, maps[255], 4096, DmaDirection.ToDevice, DmaAttrs.None, 0, 0);
        Assert.AreEqual((1, 1L), (fq.Queued, fq.FullFlushes));
        Assert.AreEqual(maps[254].Dma, io.MapPage(lazy, 0x1000, 4096, 0, 0).Dma, "the last one freed by the flush is on top");
    }

    [TestMethod]
    public void TheKernelsIovaWitnessesAnEarlierTimerRun()
    {
        var lazy = Nic with { IommuDomain = IommuDomainType.DmaFq };
        var io = new DmaIommu(Platform(new IommuConfig { ApertureEnd = (1UL << 39) - 1, FlushTimerLateNs = 1_000_000_000 }), null);
        var a = io.MapPage(lazy, 0x1000, 4096, 0, 0);
        var b = io.MapPage(lazy, 0x2000, 4096, 0, 0);
        io.UnmapPage(lazy, a, 4096, DmaDirection.ToDevice, DmaAttrs.None, 0, 1_000_000);
        io.UnmapPage(lazy, b, 4096, DmaDirection.ToDevice, DmaAttrs.None, 0, 2_000_000);
        // the kernel handed out a again: its timer ran after a was queued and before b was
        Assert.AreEqual(a.Dma, io.MapPage(lazy, 0x3000, 4096, 0, 3_000_000, witness: a.Dma).Dma);
        var fq = io.DomainOf(lazy).Fq!;
        Assert.AreEqual((1, 1L), (fq.Queued, fq.WitnessedFlushes));
        Assert.AreEqual(b.Dma - 4096, io.MapPage(lazy, 0x4000, 4096, 0, 3_000_000).Dma, "b waits for the next timer");
    }

    [TestMethod]
    public void AnUntrustedDevicesUnalignedBufferBouncesThroughGranuleAlignedSlots()
    {
        var k = KernelDefaults.Linux612;
        var swiotlb = new DmaReplay.Engine.Swiotlb.SwiotlbMem(new SwiotlbConfig { Start = 0x4000_0000, Nslabs = 1024, Nareas = 1 }, k);
        var untrusted = Nic with { Untrusted = true };
        var io = new DmaIommu(Platform(), swiotlb);
        var m = io.MapPage(untrusted, 0x1234_5678, 100, 0, 0);
        Assert.IsTrue(m.Bounced);
        Assert.AreEqual(0UL, m.BouncePhys & 0xfff, "alloc_align_mask = granule − 1, no min_align_mask");
        Assert.AreEqual(0xfffff000UL, m.Dma);
        Assert.AreEqual(2L, swiotlb.Used, "a granule of 2 KiB slots");
        io.UnmapPage(untrusted, m, 100, DmaDirection.FromDevice, DmaAttrs.None, 0, 0);
        Assert.AreEqual(0L, swiotlb.Used);
        Assert.IsFalse(io.MapPage(untrusted, 0x2000_0000, 4096, 0, 0).Bounced, "aligned buffers map directly");
        Assert.IsTrue(new DmaIommu(Platform(), null).MapPage(untrusted, 0x10, 8, 0, 0).Failed, "no SWIOTLB: the mapping fails");
    }
}
