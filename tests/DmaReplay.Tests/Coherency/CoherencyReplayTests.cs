using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Coherency;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;
using DmaReplay.Engine.Summary;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Coherency;

/// <summary>
/// Replays on the arm64-noncoherent-soc preset: the maintenance counted equals what dma-direct
/// and arch/arm64 do for each call, worked out by hand (a small trace) or from the trace's own
/// lines with the cache.S range rules (the dev-direct x86 capture as a what-if).
/// </summary>
[TestClass]
public sealed partial class CoherencyReplayTests
{
    private const string Dev = "fe300000.ethernet";

    private static RunSummary Replay(string trace, params string[] settings)
    {
        var path = Path.Combine(Path.GetTempPath(), "dmareplay-coh-" + Guid.NewGuid().ToString("n") + ".trace");
        File.WriteAllText(path, trace);
        try
        {
            var (platform, facts, own) = PlatformSource.Resolve(path, "arm64-noncoherent-soc", settings);
            return new ReplayRun(new CheckOptions { Platform = CheckPlatform.From(platform) }).Run(path, path, platform, facts, own);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class Lines
    {
        private readonly StringBuilder _b = new();
        private long _us = 1000;
        public int Count;

        public int Add(string evt, string body)
        {
            _us += 10;
            _b.Append(Parsers.Support.Line("kworker/0:1", 42, 0, _us)).Append(evt).Append(": ").Append(body).Append('\n');
            return ++Count;
        }

        public override string ToString() => _b.ToString();
    }

    [TestMethod]
    public void HandMadeTraceCountsWhatTheKernelDoes()
    {
        var t = new Lines();
        // 1500-byte receive buffer 16 bytes into a line: map cleans 0x41000000…0x410005c0 (24 lines);
        // unmap invalidates: civac of both partial edge lines, ivac of the 22 between.
        t.Add("dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=41000010 size=1500 phys_addr=41000010 attrs=");
        t.Add("dma_unmap_page", $"{Dev} dir=FROM_DEVICE dma_addr=41000010 size=1500 attrs=");
        // 100-byte transmit buffer: 2 lines cleaned; for_cpu of DMA_TO_DEVICE does nothing.
        t.Add("dma_map_page", $"{Dev} dir=TO_DEVICE dma_addr=41001000 size=100 phys_addr=41001000 attrs=");
        t.Add("dma_unmap_page", $"{Dev} dir=TO_DEVICE dma_addr=41001000 size=100 attrs=");
        // 24 bytes from the device: kmalloc-32 is not 64-aligned, so it bounces; the slot (2 KiB
        // aligned) is what gets maintained: 1 line cleaned; on unmap civac + ivac of that line.
        int kmalloc = t.Add("dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=41002000 size=24 phys_addr=41002000 attrs=");
        t.Add("dma_unmap_page", $"{Dev} dir=FROM_DEVICE dma_addr=41002000 size=24 attrs=");
        // A page kept mapped and synced both ways: 64 lines each.
        t.Add("dma_map_page", $"{Dev} dir=BIDIRECTIONAL dma_addr=41003000 size=4096 phys_addr=41003000 attrs=");
        t.Add("dma_sync_single_for_cpu", $"{Dev} dir=BIDIRECTIONAL dma_addr=41003000 size=4096");
        t.Add("dma_sync_single_for_device", $"{Dev} dir=BIDIRECTIONAL dma_addr=41003000 size=4096");
        // SKIP_CPU_SYNC: no maintenance at map or unmap.
        t.Add("dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=41004000 size=512 phys_addr=41004000 attrs=SKIP_CPU_SYNC");
        t.Add("dma_unmap_page", $"{Dev} dir=FROM_DEVICE dma_addr=41004000 size=512 attrs=SKIP_CPU_SYNC");
        // sg: two entries, each maintained with its own length (64 + 2 lines).
        t.Add("dma_map_sg", $"{Dev} dir=FROM_DEVICE nents=2/2 ents=2/2 dma_addrs={{0x41005000,0x41006000}} sizes={{0x1000,0x80}} phys_addrs={{0x41005000,0x41006000}} attrs=");
        t.Add("dma_unmap_sg", $"{Dev} dir=FROM_DEVICE phys_addrs={{0x41005000,0x41006000}} attrs=");
        // Coherent allocations: one that may block is prepared (PAGE_ALIGN(100) = 4096: 64 lines
        // cleaned) and remapped uncached; an atomic one comes from the atomic pool.
        t.Add("dma_alloc", $"{Dev} dir=BIDIRECTIONAL dma_addr=41008000 size=100 virt_addr=00000000deadbeef flags=GFP_KERNEL attrs=");
        t.Add("dma_alloc", $"{Dev} dir=BIDIRECTIONAL dma_addr=41009000 size=100 virt_addr=00000000feedbeef flags=GFP_ATOMIC attrs=");

        var c = Replay(t.ToString()).Replay!.Coherency!;
        var d = c.Devices.Single();
        Assert.AreEqual(Dev, d.Device);
        var map = d.Of(CoherencyOperation.Map);
        Assert.AreEqual(24 + 2 + 1 + 64 + 64 + 2, map.LinesCleaned);
        Assert.AreEqual(0, map.LinesInvalidated + map.LinesCleanInvalidated);
        Assert.AreEqual(6, map.Calls);
        Assert.AreEqual(6, map.CleanOps);
        Assert.AreEqual(1, map.SkippedByAttr);
        Assert.AreEqual(1500 + 100 + 24 + 4096 + 4096 + 128, map.Bytes);
        var unmap = d.Of(CoherencyOperation.Unmap);
        Assert.AreEqual(22 + 1 + 64 + 2, unmap.LinesInvalidated);
        Assert.AreEqual(2 + 1, unmap.LinesCleanInvalidated);
        Assert.AreEqual(5, unmap.Calls);
        Assert.AreEqual(1, unmap.NoMaintenance, "for_cpu of DMA_TO_DEVICE");
        Assert.AreEqual(4, unmap.InvalidateOps);
        Assert.AreEqual(1, unmap.SkippedByAttr);
        Assert.AreEqual(64, d.Of(CoherencyOperation.SyncForCpu).LinesInvalidated);
        Assert.AreEqual(64, d.Of(CoherencyOperation.SyncForDevice).LinesCleaned);
        Assert.AreEqual(64, d.Of(CoherencyOperation.Alloc).LinesCleaned);
        Assert.AreEqual(1, d.UncachedRemaps);
        Assert.AreEqual(1, d.AtomicPoolAllocs);
        Assert.AreEqual(1, d.KmallocBounces);
        Assert.AreEqual(24, d.KmallocBounceBytes);
        Assert.AreEqual(new KmallocBounceSize(24, 1), d.KmallocBounceSizes.Single());
        Assert.AreEqual(kmalloc, c.KmallocExamples.Single().Line);
        Assert.AreEqual(0, d.SyncsSkipped, "a non-coherent device never skips a sync");
        Assert.AreEqual(map.Lines + unmap.Lines + 64 + 64 + 64, c.TotalLines);
    }

    [TestMethod]
    public void ACoherentReplayHasNoCoherencySection()
    {
        var t = new Lines();
        t.Add("dma_map_page", $"{Dev} dir=FROM_DEVICE dma_addr=41000010 size=1500 phys_addr=41000010 attrs=");
        t.Add("dma_sync_single_for_cpu", $"{Dev} dir=FROM_DEVICE dma_addr=41000010 size=1500");
        Assert.IsNull(Replay(t.ToString(), $"device.{Dev}.coherent=true").Replay!.Coherency);
    }

    [GeneratedRegex(@"(dma_map_page|dma_unmap_page|dma_map_sg|dma_alloc): (\S+) dir=(\S+) (?:dma_addr=([0-9a-f]+) size=(\d+)|nents=\S+ ents=\S+ dma_addrs=\{([^}]*)\} sizes=\{([^}]*)\})")]
    private static partial Regex EventLine();

    /// <summary>
    /// The x86 dev-direct capture replayed on the non-coherent SoC: every map cleans the lines its
    /// buffer covers, every unmap that is not DMA_TO_DEVICE invalidates them (civac on partial edge
    /// lines), every blocking coherent allocation cleans its whole pages — computed here from the
    /// trace lines themselves; the buffers that bounce are exactly those whose kmalloc cache is not
    /// 64-byte aligned on a device-writable mapping.
    /// </summary>
    [TestMethod]
    public void DevDirectWhatIfOnTheNonCoherentSoc()
    {
        var bundle = TestPaths.RealBundle("dev-direct");
        var (platform, facts, own) = PlatformSource.Resolve(bundle, "arm64-noncoherent-soc", []);
        var trace = Path.Combine(bundle, "trace.txt");
        var summary = new ReplayRun(new CheckOptions { Platform = CheckPlatform.From(platform) }).Run(trace, trace, platform, facts, own);
        var c = summary.Replay!.Coherency!;

        var expected = new Dictionary<string, (long MapCvac, long UnmapLines, long UnmapCivac, long AllocCvac, long Kmalloc)>();
        var bounced = new HashSet<(string, ulong)>();
        foreach (var raw in File.ReadLines(trace))
        {
            var m = EventLine().Match(raw);
            if (!m.Success) continue;
            string evt = m.Groups[1].Value, dev = m.Groups[2].Value, dir = m.Groups[3].Value;
            var e = expected.GetValueOrDefault(dev);
            var buffers = new List<(ulong Addr, ulong Size)>();
            if (m.Groups[4].Success) buffers.Add((Hex(m.Groups[4].Value), ulong.Parse(m.Groups[5].Value, CultureInfo.InvariantCulture)));
            else buffers.AddRange(m.Groups[6].Value.Split(',').Zip(m.Groups[7].Value.Split(','), (a, s) => (Hex(a[2..]), Hex(s[2..]))));
            foreach (var (addr, size) in buffers)
            {
                // dma_kmalloc_needs_bounce on this preset: sizes whose kmalloc cache (8/16/32/96) is not a multiple of 64.
                bool kmallocBounce = dir != "TO_DEVICE" && size is >= 1 and <= 32 or >= 65 and <= 96;
                if (evt == "dma_alloc")
                {
                    // GFP_KERNEL may block: remapped, its pages prepared; GFP_ATOMIC comes from the atomic pool.
                    if (raw.Contains("flags=GFP_KERNEL", StringComparison.Ordinal)) e.AllocCvac += (long)((size + 4095) / 4096 * 64);
                }
                else if (evt.StartsWith("dma_map", StringComparison.Ordinal))
                {
                    if (kmallocBounce) { e.Kmalloc++; bounced.Add((dev, addr)); }
                    // a bounced buffer is maintained in its 2 KiB-aligned slot
                    e.MapCvac += kmallocBounce ? Covered(0, size) : Covered(addr, size);
                }
                else if (dir != "TO_DEVICE")
                {
                    ulong at = bounced.Remove((dev, addr)) ? 0 : addr;
                    ulong end = at + size;
                    bool endPartial = (end & 63) != 0, startPartial = (at & 63) != 0;
                    e.UnmapCivac += (endPartial ? 1 : 0) + (startPartial ? 1 : 0);
                    e.UnmapLines += Covered(at, size) + ((at & ~63UL) == ((end - 1) & ~63UL) && endPartial ? 1 : 0);
                }
            }
            expected[dev] = e;
        }
        // dma_unmap_sg prints no sizes: the sg unmaps of dev-direct are NVMe's, one per map, same entries.
        foreach (var raw in File.ReadLines(trace).Where(l => l.Contains(" dma_map_sg: ", StringComparison.Ordinal)))
        {
            var m = EventLine().Match(raw);
            if (m.Groups[3].Value == "TO_DEVICE") continue; // for_cpu of DMA_TO_DEVICE does nothing
            var e = expected[m.Groups[2].Value];
            foreach (var (a, s) in m.Groups[6].Value.Split(',').Zip(m.Groups[7].Value.Split(','), (a, s) => (Hex(a[2..]), Hex(s[2..]))))
            {
                e.UnmapLines += Covered(a, s);
                e.UnmapCivac += ((a & 63) != 0 ? 1 : 0) + (((a + s) & 63) != 0 ? 1 : 0);
            }
            expected[m.Groups[2].Value] = e;
        }

        Assert.AreEqual(3, c.Devices.Count);
        foreach (var d in c.Devices)
        {
            var e = expected[d.Device];
            Assert.AreEqual(e.MapCvac, d.Of(CoherencyOperation.Map).LinesCleaned, d.Device + " map");
            Assert.AreEqual(e.UnmapLines, d.Of(CoherencyOperation.Unmap).Lines, d.Device + " unmap");
            Assert.AreEqual(e.UnmapCivac, d.Of(CoherencyOperation.Unmap).LinesCleanInvalidated, d.Device + " unmap civac");
            Assert.AreEqual(e.AllocCvac, d.Of(CoherencyOperation.Alloc).LinesCleaned, d.Device + " alloc");
            Assert.AreEqual(e.Kmalloc, d.KmallocBounces, d.Device + " kmalloc bounces");
        }
        // The figures the README quotes.
        Assert.AreEqual(9, c.KmallocBounces);
        Assert.AreEqual(1_000_098, c.TotalLines);
        Assert.AreEqual(0, c.LinesOf(CoherencyOperation.SyncForCpu), "x86 skipped every sync (dma_skip_sync): none is in the capture");
    }

    /// <summary>
    /// traces/synthetic/noncoherent-*.trace: the replay on the preset the workload models reports
    /// exactly the manifest (check does too: SyntheticCorpusTests), agrees with every recorded
    /// address, and counts what the kernel would: each 1536-byte receive sync invalidates its 24
    /// lines, each small response buffer is a kmalloc bounce, and the generator is deterministic.
    /// </summary>
    [TestMethod]
    [DataRow("noncoherent-cacheline-overlap.trace", 61, "cacheline-overlap=0.03")]
    [DataRow("noncoherent-correct.trace", 62, null)]
    public void NonCoherentSyntheticTracesReplayExactlyToTheirManifest(string name, int seed, string? inject)
    {
        var path = TestPaths.Traces("synthetic", name);
        var m = global::DmaReplay.Engine.Synthesis.SynthManifest.Read(path + ".manifest.json");
        Assert.AreEqual("arm64-noncoherent-soc", m.Platform);
        var (platform, facts, own) = PlatformSource.Resolve(path, m.Platform, m.Settings);
        var summary = new ReplayRun(new CheckOptions { Platform = CheckPlatform.From(platform) }).Run(path, path, platform, facts, own);
        CollectionAssert.AreEqual(
            m.ExpectedFindings.Select(f => (f.Rule, f.Line, f.RelatedLine)).Order().ToList(),
            summary.Findings.Select(f => (f.Rule, f.Line, f.Related?.Line)).Order().ToList());
        var replay = summary.Replay!;
        Assert.AreEqual(0, replay.Agreement.MismatchCount);
        Assert.IsGreaterThan(0L, replay.Agreement.Swiotlb.Compared);

        var text = File.ReadAllLines(path);
        var c = replay.Coherency!;
        var eth = c.Devices.Single(d => d.Device == "fe300000.ethernet");
        var mmc = c.Devices.Single(d => d.Device == "fe320000.mmc");
        long rxSyncs = text.Count(l => l.Contains("dma_sync_single_for_cpu: fe300000.ethernet", StringComparison.Ordinal));
        Assert.AreEqual(24 * rxSyncs, eth.Of(CoherencyOperation.SyncForCpu).LinesInvalidated);
        Assert.AreEqual(0, eth.Of(CoherencyOperation.SyncForCpu).LinesCleanInvalidated, "receive buffers are 2 KiB aligned");
        Assert.AreEqual(text.Count(l => l.Contains(" swiotlb_bounced: ", StringComparison.Ordinal)), mmc.KmallocBounces);
        // dma_direct_sync_sg_for_cpu calls arch_sync_dma_for_cpu once per entry: 8 lines for each 512-byte block.
        long entries = text.Where(l => l.Contains(" dma_sync_sg_for_cpu: ", StringComparison.Ordinal)).Sum(l => l.Split("sizes=")[1].Count(ch => ch == ',') + 1);
        Assert.AreEqual(entries, mmc.Of(CoherencyOperation.SyncForCpu).Calls);
        Assert.AreEqual(8 * entries, mmc.Of(CoherencyOperation.SyncForCpu).LinesInvalidated);

        var options = new global::DmaReplay.Engine.Synthesis.SynthOptions
        {
            NonCoherent = true, Seed = seed, Events = 1500, Manifest = true,
            Injections = inject is null ? new Dictionary<string, double>() : new Dictionary<string, double> { ["cacheline-overlap"] = 0.03 },
        };
        using var regenerated = new MemoryStream();
        global::DmaReplay.Engine.Synthesis.TraceSynthesizer.Write(options, regenerated);
        CollectionAssert.AreEqual(File.ReadAllBytes(path), regenerated.ToArray(), "the same options give the same bytes");
    }

    private static long Covered(ulong start, ulong size) =>
        (long)((((start + size - 1) & ~63UL) - (start & ~63UL)) / 64 + 1);

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
