using System.Text.Json;
using DmaReplay.Engine.Inputs;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Engine;

[TestClass]
public sealed class DeviceActivityTests
{
    private static (TraceSummaryBuilder Builder, TraceStrings Strings) Summarize(string text)
    {
        var strings = new TraceStrings();
        var builder = new TraceSummaryBuilder();
        new FtraceTextReader(strings, builder).Read(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text)), "t", 0);
        return (builder, strings);
    }

    private static string L(int us, string evt, string body) => TraceHarness.Line("t", 1, 0, ".....", $"1.{us:000000}", evt, body) + "\n";

    [TestMethod]
    public void LiveMappingsRiseAndFallWithMapsUnmapsSgListsAndAllocations()
    {
        const string D = "0000:00:02.0";
        var text =
            L(1, "dma_alloc", $"{D} dir=BIDIRECTIONAL dma_addr=7000 size=512 virt_addr=00000000bb9e9702 flags=GFP_KERNEL attrs=") +
            L(2, "dma_map_page", $"{D} dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=1000 attrs=") +
            L(3, "dma_map_page", $"{D} dir=TO_DEVICE dma_addr=1000 size=4096 phys_addr=1000 attrs=") +      // same page twice (no IOMMU)
            L(4, "dma_map_sg", $"{D} dir=FROM_DEVICE nents=2/2 ents=2/2 dma_addrs={{0x9000,0xb000}} sizes={{0x1000,0x800}} phys_addrs={{0x9000,0xb000}} attrs=") +
            L(5, "dma_map_page", $"{D} dir=FROM_DEVICE dma_addr=ffffffffffffffff size=4096 phys_addr=5000 attrs=") + // failed
            L(6, "dma_unmap_page", $"{D} dir=TO_DEVICE dma_addr=1000 size=4096 attrs=") +
            L(7, "dma_unmap_sg", $"{D} dir=FROM_DEVICE phys_addrs={{0x9000,0xb000}} attrs=") +
            L(8, "dma_unmap_page", $"{D} dir=TO_DEVICE dma_addr=2000 size=4096 attrs=") +                 // never mapped
            L(9, "dma_free", $"{D} dir=BIDIRECTIONAL dma_addr=7000 size=512 virt_addr=00000000bb9e9702 attrs=");
        var (b, strings) = Summarize(text);
        var d = b.Devices.Single();
        Assert.AreEqual(D, strings.Device(d.Device));
        Assert.AreEqual(9L, d.Events);
        Assert.AreEqual(4L, d.Maps);
        Assert.AreEqual(1L, d.MapFailures);
        Assert.AreEqual(4L, d.Unmaps);
        Assert.AreEqual(1L, d.UnmatchedUnmaps);
        Assert.AreEqual(4L, d.PeakLiveMappings);
        Assert.AreEqual(512UL + 4096 + 4096 + 0x1800, d.PeakLiveBytes);
        Assert.AreEqual(1L, d.LiveMappings, "one of the two mappings of page 0x1000 is still live");
        Assert.AreEqual(4096UL, d.LiveBytes);
    }

    /// <summary>
    /// device_unbind: devres releases the managed (dmam_*) allocations without a dma_free in the
    /// trace, so they stop being live; the unmanaged allocation and the streaming map stay (they
    /// are the leak-at-unbind findings). A managed allocation freed before, with or without the
    /// word managed on its free, is released once; another device keeps its managed allocation.
    /// </summary>
    [TestMethod]
    public void AnUnbindReleasesTheManagedAllocationsOfItsDeviceOnly()
    {
        const string D = "0000:00:08.0", E = "0000:00:09.0";
        var text =
            L(1, "dma_alloc", $"{D} dir=BIDIRECTIONAL dma_addr=10000 size=4096 virt_addr=0000000000010000 flags=GFP_KERNEL managed attrs=") +
            L(2, "dma_alloc", $"{D} dir=BIDIRECTIONAL dma_addr=20000 size=2048 virt_addr=0000000000020000 flags=GFP_KERNEL managed attrs=") +
            L(3, "dma_alloc", $"{D} dir=BIDIRECTIONAL dma_addr=30000 size=8192 virt_addr=0000000000030000 flags=GFP_KERNEL attrs=") +
            L(4, "dma_map_page", $"{D} dir=FROM_DEVICE dma_addr=40000 size=1536 phys_addr=40000 attrs=") +
            L(5, "dma_alloc", $"{D} dir=BIDIRECTIONAL dma_addr=50000 size=512 virt_addr=0000000000050000 flags=GFP_KERNEL managed attrs=") +
            L(6, "dma_alloc", $"{E} dir=BIDIRECTIONAL dma_addr=60000 size=4096 virt_addr=0000000000060000 flags=GFP_KERNEL managed attrs=") +
            L(7, "dma_free", $"{D} dir=BIDIRECTIONAL dma_addr=20000 size=2048 virt_addr=0000000000020000 managed attrs=") + // dmam_free_coherent
            L(8, "dma_free", $"{D} dir=BIDIRECTIONAL dma_addr=50000 size=512 virt_addr=0000000000050000 attrs=") +          // its free not marked
            L(9, "device_unbind", $"{D} driver=synth_drv");
        var (b, strings) = Summarize(text);
        var d = b.Devices.Single(x => strings.Device(x.Device) == D);
        Assert.AreEqual(5L, d.Maps);
        Assert.AreEqual(2L, d.Unmaps);
        Assert.AreEqual(0L, d.UnmatchedUnmaps);
        Assert.AreEqual(5L, d.PeakLiveMappings);
        Assert.AreEqual(4096UL + 2048 + 8192 + 1536 + 512, d.PeakLiveBytes);
        Assert.AreEqual(2L, d.LiveMappings, "the unmanaged allocation and the map");
        Assert.AreEqual(8192UL + 1536, d.LiveBytes);
        Assert.AreEqual(2L, d.LiveMappingsOverTime.Points()[^1].Min, "the series drops at the unbind");
        var e = b.Devices.Single(x => strings.Device(x.Device) == E);
        Assert.AreEqual(1L, e.LiveMappings, "another device's managed allocation stays");
        Assert.AreEqual(4096UL, e.LiveBytes);
    }

    /// <summary>
    /// A check of leak-at-unbind.trace: what is live at the end of the unbound devices is what
    /// leak-at-unbind reported (synth_drv: four unbinds, each leaving an allocation and a map, each
    /// releasing a managed page; xhci_hcd: its managed ERST), no managed allocation.
    /// </summary>
    [TestMethod]
    public void LiveAtEndOfTheUnbindCorpusTraceIsWhatLeakAtUnbindReported()
    {
        var path = TestPaths.Traces("synthetic", "leak-at-unbind.trace");
        var summary = new DmaReplay.Engine.CheckRun(new DmaReplay.Engine.Checks.CheckOptions()).Run(InputResolver.Resolve([path]));
        var synth = summary.Devices.Single(x => x.Name == "0000:00:08.0");
        var leaked = summary.Findings.Where(f => f.Rule == "leak-at-unbind" && f.Device == "0000:00:08.0").ToList();
        Assert.HasCount(8, leaked);
        Assert.AreEqual(8L, synth.LiveMappingsAtEnd, "12 allocated or mapped, the 4 managed released");
        Assert.AreEqual(8 * 4096UL, synth.LiveBytesAtEnd);
        Assert.AreEqual((ulong)leaked.Sum(f => (long)f.Size), synth.LiveBytesAtEnd);
        Assert.AreEqual(9L, synth.PeakLiveMappings, "an unbind releases its managed page before the next round allocates");
        var xhci = summary.Devices.Single(x => x.Name == "0000:00:05.0");
        Assert.AreEqual(0L, xhci.LiveMappingsAtEnd, "xhci_hcd freed the rest itself; devres freed the ERST");
        Assert.AreEqual(0UL, xhci.LiveBytesAtEnd);
    }

    [TestMethod]
    public void TheSeriesKeepsItsPeakAndItsSizeWhateverTheLength()
    {
        var s = new DownsampledSeries(originNs: 1_000, capacity: 8);
        s.Record(1_000, 1);
        s.Record(2_500, 5);
        s.Record(3_000, 2);
        Assert.AreEqual(1_000L, s.BucketWidthNs);
        CollectionAssert.AreEqual(new long[] { 1, 5, 5 }, s.Points().Select(p => p.Max).ToArray());
        s.Record(1_000_000, 3); // far past the last bucket: buckets merge until it fits
        Assert.AreEqual(128_000L, s.BucketWidthNs);
        var points = s.Points();
        Assert.HasCount(8, points);
        Assert.AreEqual(5L, points[0].Max, "the peak survives merging");
        Assert.AreEqual(2L, points[1].Max, "the level in between is carried forward");
        Assert.AreEqual(3L, points[7].Max);
        Assert.AreEqual(1_000L + 7 * 128_000, points[7].TimeNs);
    }

    /// <summary>NIC rx rings stay mapped at the end of these captures (bundle README): per-device ends agree with meta.json.</summary>
    [TestMethod]
    public void MapsAndUnmapsPerDeviceMatchTheCaptureMetadata()
    {
        var dir = TestPaths.RealBundle("dev-direct");
        using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "meta.json")));
        var byDevice = meta.RootElement.GetProperty("trace").GetProperty("event_counts_by_device");
        long Count(string evt, string dev) =>
            byDevice.TryGetProperty(evt, out var e) && e.TryGetProperty(dev, out var n) ? n.GetInt64() : 0;

        var strings = new TraceStrings();
        var builder = new TraceSummaryBuilder();
        using (var stream = TraceInputStream.Open(Path.Combine(dir, "trace.txt"), out _))
            new FtraceTextReader(strings, builder).Read(stream, "trace.txt", 0);
        foreach (var d in builder.Devices)
        {
            string name = strings.Device(d.Device);
            Assert.AreEqual(Count("dma_map_page", name) + Count("dma_map_sg", name) + Count("dma_alloc", name), d.Maps + d.MapFailures, name);
            Assert.AreEqual(Count("dma_unmap_page", name) + Count("dma_unmap_sg", name) + Count("dma_free", name), d.Unmaps, name);
            Assert.AreEqual(0L, d.UnmatchedUnmaps, name);
            Assert.AreEqual(d.Maps - d.Unmaps, d.LiveMappings, name);
        }
    }
}
