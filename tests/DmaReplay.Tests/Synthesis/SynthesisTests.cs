using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using DmaReplay.Cli.Commands;
using DmaReplay.Engine.Synthesis;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Synthesis;

[TestClass]
public sealed class SynthesisTests
{
    private const int Events = 50_000;

    private static readonly Lazy<(byte[] Bytes, SynthReport Report)> Trace = new(() => Generate(new SynthOptions { Events = Events, Seed = 42 }));

    private static (byte[] Bytes, SynthReport Report) Generate(SynthOptions options)
    {
        using var ms = new MemoryStream();
        var report = TraceSynthesizer.Write(options, ms);
        return (ms.ToArray(), report);
    }

    private static string[] Lines(byte[] bytes)
    {
        var text = Encoding.ASCII.GetString(bytes);
        Assert.IsTrue(text.EndsWith('\n'), "the trace ends with a newline");
        return text[..^1].Split('\n');
    }

    // ---- the real-trace grammar (tracefs trace_print_context + the 6.12.117 TP_printk formats) ----

    /// <summary>comm right-aligned in 16, '-', pid left-aligned in 7 (the lookbehind pins column 24), [cpu], 5 flags, %5lu.%06lu.</summary>
    private static readonly Regex Context = new(
        @"^(?<comm>.{16})-(?<pid>\d+) *(?<=^.{24,}) \[(?<cpu>\d{3})\] (?<flags>[.dDbX][.nNpLlBb][.zZhHs][.0-9a-f][.0-9a-f]) (?<secs> *\d+)\.(?<usecs>\d{6}): (?<event>[a-z_]+): (?<body>.*)$",
        RegexOptions.Compiled | RegexOptions.CultureInvariant);

    private const string Dir = "(?<dir>BIDIRECTIONAL|TO_DEVICE|FROM_DEVICE|NONE)";
    private const string Hex = "(?:0|[1-9a-f][0-9a-f]*)";
    private const string Array = @"\{(?:0x" + Hex + "(?:,0x" + Hex + ")*)?\\}";
    private const string Attrs = "attrs=(?<attrs>[A-Z_|]*)";

    private static readonly Dictionary<string, Regex> Bodies = new()
    {
        ["dma_map_page"] = new($"^(?<dev>\\S+) dir={Dir} dma_addr=(?<dma>{Hex}) size=(?<size>\\d+) phys_addr=(?<phys>{Hex}) {Attrs}$", RegexOptions.Compiled),
        ["dma_unmap_page"] = new($"^(?<dev>\\S+) dir={Dir} dma_addr=(?<dma>{Hex}) size=(?<size>\\d+) {Attrs}$", RegexOptions.Compiled),
        ["dma_map_sg"] = new($"^(?<dev>\\S+) dir={Dir} nents=(?<n1>\\d+)/(?<n2>\\d+) ents=(?<e1>\\d+)/(?<e2>\\d+)(?: \\[TRUNCATED\\])? dma_addrs=(?<dma>{Array}) sizes=(?<sizes>{Array}) phys_addrs=(?<phys>{Array}) {Attrs}$", RegexOptions.Compiled),
        ["dma_unmap_sg"] = new($"^(?<dev>\\S+) dir={Dir} phys_addrs=(?<phys>{Array}) {Attrs}$", RegexOptions.Compiled),
        ["dma_alloc"] = new($"^(?<dev>\\S+) dir={Dir} dma_addr=(?<dma>{Hex}) size=(?<size>\\d+) virt_addr=(?<virt>[0-9a-f]{{16}}) flags=(?<flags>[A-Z_|]+) {Attrs}$", RegexOptions.Compiled),
        ["dma_free"] = new($"^(?<dev>\\S+) dir={Dir} dma_addr=(?<dma>{Hex}) size=(?<size>\\d+) virt_addr=(?<virt>[0-9a-f]{{16}}) {Attrs}$", RegexOptions.Compiled),
        ["swiotlb_bounced"] = new($"^dev_name: (?<dev>\\S+) dma_mask=(?<mask>{Hex}) dev_addr=(?<phys>{Hex}) size=(?<size>\\d+) (?:NORMAL|FORCE)$", RegexOptions.Compiled),
        ["tracing_mark_write"] = new("^capture-phase: .+$", RegexOptions.Compiled),
    };

    private static readonly string[] RealHeader =
    [
        "# tracer: nop",
        "#",
        "# entries-in-buffer/entries-written: {0}/{0}   #P:2",
        "#",
        "#                                _-----=> irqs-off/BH-disabled",
        "#                               / _----=> need-resched",
        "#                              | / _---=> hardirq/softirq",
        "#                              || / _--=> preempt-depth",
        "#                              ||| / _-=> migrate-disable",
        "#                              |||| /     delay",
        "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
        "#              | |         |   |||||     |         |",
    ];

    [TestMethod]
    public void Reader_parses_every_line_and_counts_what_the_generator_reports()
    {
        var (bytes, report) = Trace.Value;
        var handler = new CountingHandler();
        var strings = new TraceStrings();
        var stats = new FtraceTextReader(strings, handler).Read(new MemoryStream(bytes), "synth", 0);

        Assert.IsNull(stats.ReadError);
        Assert.AreEqual(0, stats.Malformed, string.Join("\n", stats.Diagnostics));
        Assert.AreEqual("ftrace", stats.Format);
        Assert.AreEqual(Events, report.Events);
        Assert.AreEqual(report.Lines, stats.Lines);
        Assert.AreEqual(stats.Lines, stats.AccountedLines);
        Assert.AreEqual(report.Bytes, stats.Bytes);
        Assert.AreEqual(bytes.LongLength, report.Bytes);
        Assert.AreEqual((long)Events, stats.HeaderEntriesInBuffer);
        Assert.AreEqual((long)Events, stats.HeaderEntriesWritten);
        Assert.AreEqual(2, stats.HeaderCpus);
        Assert.AreEqual(0, stats.LostEvents);
        Assert.AreEqual(12, stats.SkippedCount(SkipReason.Header));
        Assert.AreEqual(report.DmaEvents, stats.Events);
        Assert.AreEqual(report.DmaEvents, handler.Total);
        for (int k = 0; k < DmaEventKinds.Count; k++)
        {
            var kind = (DmaEventKind)k;
            Assert.AreEqual(report.Count(kind), stats.EventCount(kind), kind.Name());
            Assert.AreEqual(report.Count(kind), handler.ByKind[k], kind.Name());
        }
        var other = stats.OtherEvents.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.AreEqual(1, other.Count);
        Assert.AreEqual(report.Markers, other[SynthReport.MarkerEventName]);

        // The traffic the brief asks for is all there.
        foreach (var kind in new[] { DmaEventKind.DmaMapPage, DmaEventKind.DmaUnmapPage, DmaEventKind.DmaMapSg, DmaEventKind.DmaUnmapSg,
                     DmaEventKind.DmaAlloc, DmaEventKind.DmaFree, DmaEventKind.SwiotlbBounced })
        {
            Assert.IsTrue(report.Count(kind) > 0, kind.Name());
        }
        Assert.IsTrue(report.Markers >= 3);
        CollectionAssert.AreEquivalent(new[] { "0000:00:02.0", "0000:00:03.0", "0000:00:04.0" }, handler.DeviceIds.Select(strings.Device).ToArray());
        Assert.IsTrue(handler.Cpus.SetEquals([0, 1]));
        Assert.IsTrue(handler.MinSgEntries >= 2 && handler.MaxSgEntries <= 32 && handler.MaxSgEntries >= 16);
    }

    [TestMethod]
    public void Every_line_matches_the_real_trace_grammar()
    {
        var lines = Lines(Trace.Value.Bytes);
        for (int i = 0; i < RealHeader.Length; i++) Assert.AreEqual(string.Format(RealHeader[i], Events), lines[i]);

        long lastUs = -1;
        var events = new HashSet<string>();
        for (int i = RealHeader.Length; i < lines.Length; i++)
        {
            var line = lines[i];
            var m = Context.Match(line);
            Assert.IsTrue(m.Success, $"line {i + 1}: context: {line}");
            Assert.IsTrue(m.Groups["secs"].Length >= 5, $"line {i + 1}: %5lu");
            Assert.AreEqual(16, m.Groups["comm"].Length);
            string ev = m.Groups["event"].Value;
            Assert.IsTrue(Bodies.TryGetValue(ev, out var body), $"line {i + 1}: unexpected event {ev}");
            Assert.IsTrue(body.IsMatch(m.Groups["body"].Value), $"line {i + 1}: {ev} body: {line}");
            long us = long.Parse(m.Groups["secs"].Value.Trim()) * 1_000_000 + long.Parse(m.Groups["usecs"].Value);
            Assert.IsTrue(us > lastUs, $"line {i + 1}: timestamps increase");
            lastUs = us;
            Assert.IsTrue(int.Parse(m.Groups["cpu"].Value) < 2, $"line {i + 1}: cpu");
            events.Add(ev);
        }
        Assert.AreEqual(Bodies.Count, events.Count, "every event kind occurs");
        Assert.AreEqual(Events, lines.Length - RealHeader.Length);
    }

    /// <summary>The grammar above is the real one: the same regexes accept the real 6.12.117 bundles' lines of these events.</summary>
    [TestMethod]
    public void Grammar_accepts_the_real_bundles()
    {
        var bundles = new[] { "dev-direct", "dev-swiotlb-force-default" }.Select(b => Path.Combine(Support.TestPaths.RealBundle(b), "trace.txt")).ToArray();
        int checkedLines = 0;
        foreach (var path in bundles)
        {
            var lines = File.ReadAllLines(path);
            for (int i = 0; i < RealHeader.Length; i++)
            {
                if (i != 2) Assert.AreEqual(RealHeader[i], lines[i], $"{path}: header line {i + 1}");
            }
            foreach (var line in lines.Skip(RealHeader.Length))
            {
                var m = Context.Match(line);
                Assert.IsTrue(m.Success, $"{path}: context: {line}");
                string ev = m.Groups["event"].Value;
                if (!Bodies.TryGetValue(ev, out var body) || ev == "tracing_mark_write") continue;
                Assert.IsTrue(body.IsMatch(m.Groups["body"].Value), $"{path}: {line}");
                checkedLines++;
            }
        }
        Assert.IsTrue(checkedLines > 10_000);
    }

    [TestMethod]
    public void Same_seed_gives_identical_bytes_and_another_seed_does_not()
    {
        var options = new SynthOptions { Events = 20_000, Seed = 7 };
        var a = Generate(options).Bytes;
        var b = Generate(options).Bytes;
        CollectionAssert.AreEqual(a, b);
        var c = Generate(options with { Seed = 8 }).Bytes;
        CollectionAssert.AreNotEqual(a, c);

        using var text = new StringWriter();
        TraceSynthesizer.Write(options, text);
        Assert.AreEqual(Encoding.ASCII.GetString(a), text.ToString(), "TextWriter and Stream output agree");
    }

    [TestMethod]
    [DataRow(0L)]
    [DataRow(1L)]
    [DataRow(2L)]
    [DataRow(17L)]
    [DataRow(600L)]
    [DataRow(1234L)]
    public void Writes_exactly_the_requested_number_of_events(long events)
    {
        var (bytes, report) = Generate(new SynthOptions { Events = events, Seed = 3 });
        var lines = Lines(bytes);
        Assert.AreEqual(events, report.Events);
        Assert.AreEqual(events + 12, lines.Length);
        Assert.AreEqual(string.Format(RealHeader[2], events), lines[2]);
        var stats = new FtraceTextReader(new TraceStrings(), new CountingHandler()).Read(new MemoryStream(bytes), "synth", 0);
        Assert.AreEqual(0, stats.Malformed);
        Assert.AreEqual(report.DmaEvents, stats.Events);
        AssertUnmapsMatchLiveMaps(lines);
    }

    [TestMethod]
    public void Every_unmap_matches_a_live_map()
    {
        var live = AssertUnmapsMatchLiveMaps(Lines(Trace.Value.Bytes));
        Assert.IsTrue(live > 0, "receive rings stay mapped at the end");
    }

    [TestMethod]
    public void Device_mix_shapes_the_traffic()
    {
        var (bytes, _) = Generate(new SynthOptions { Events = 5_000, Seed = 5, Devices = new DeviceMix(1, 0, 0), BounceFraction = 0 });
        var lines = Lines(bytes);
        // Probe allocations and the receive-ring fill happen whatever the mix; after them, only NVMe works.
        int start = System.Array.FindIndex(lines, l => l.EndsWith("capture-phase: workload start"));
        Assert.IsTrue(start > 0);
        Assert.IsTrue(lines.Skip(start + 1).Where(l => !l.Contains("tracing_mark_write")).All(l => l.Contains(" 0000:00:02.0 ")));
        Assert.IsFalse(lines.Any(l => l.Contains("swiotlb_bounced")));
    }

    [TestMethod]
    public void Invalid_options_are_rejected()
    {
        Assert.ThrowsExactly<ArgumentException>(() => TraceSynthesizer.Write(new SynthOptions { Events = -1 }, Stream.Null));
        Assert.ThrowsExactly<ArgumentException>(() => TraceSynthesizer.Write(new SynthOptions { Devices = new DeviceMix(0, 0, 0) }, Stream.Null));
        Assert.IsTrue(DeviceMix.TryParse("nvme=1,virtio=0.5", out var mix, out _));
        Assert.AreEqual(new DeviceMix(1, 0, 0.5), mix);
        Assert.IsFalse(DeviceMix.TryParse("disk=1", out _, out var error));
        StringAssert.Contains(error, "unknown device");
    }

    [TestMethod]
    public void Synth_command_writes_plain_and_gzip_files()
    {
        var dir = Directory.CreateTempSubdirectory("dmareplay-synth-");
        try
        {
            var plain = Path.Combine(dir.FullName, "a.trace");
            var gz = Path.Combine(dir.FullName, "a.trace.gz");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            Assert.AreEqual(0, SynthCommand.Run(stdout, stderr, 3_000, 9, plain, null, 2), stderr.ToString());
            Assert.AreEqual(0, SynthCommand.Run(stdout, stderr, 3_000, 9, gz, null, 2), stderr.ToString());
            StringAssert.Contains(stdout.ToString(), "3,000 events");
            using var unzip = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress);
            using var copy = new MemoryStream();
            unzip.CopyTo(copy);
            CollectionAssert.AreEqual(File.ReadAllBytes(plain), copy.ToArray());
            Assert.IsFalse(File.Exists(plain + ".partial"));

            Assert.AreEqual(2, SynthCommand.Run(stdout, stderr, -5, 9, plain, null, 2));
            Assert.AreEqual(2, SynthCommand.Run(stdout, stderr, 5, 9, plain, "nvme=x", 2));
            StringAssert.Contains(stderr.ToString(), "error:");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Replays the text with a dictionary of live mappings, independent of the engine: every unmap
    /// or free must name a live map or alloc of the same device, address, size and direction
    /// (sg: the same phys_addrs); no address is mapped twice while live; dma-direct maps have
    /// dma_addr == phys_addr unless the line before is their swiotlb bounce. Returns the live count at the end.
    /// </summary>
    private static int AssertUnmapsMatchLiveMaps(string[] lines)
    {
        var live = new Dictionary<string, int>();
        var liveAddr = new HashSet<string>();
        string? bounce = null;
        for (int i = 12; i < lines.Length; i++)
        {
            var m = Context.Match(lines[i]);
            Assert.IsTrue(m.Success);
            string ev = m.Groups["event"].Value;
            var b = Bodies[ev].Match(m.Groups["body"].Value);
            string dev = b.Groups["dev"].Value;
            string where = $"line {i + 1}: {lines[i]}";
            switch (ev)
            {
                case "dma_map_page":
                {
                    string dma = b.Groups["dma"].Value, phys = b.Groups["phys"].Value, size = b.Groups["size"].Value;
                    if (dma != phys)
                    {
                        Assert.AreEqual($"{dev} {phys} {size}", bounce, $"a map with dma_addr != phys_addr follows its swiotlb bounce: {where}");
                        ulong d = Convert.ToUInt64(dma, 16);
                        Assert.IsTrue(d >= 0xbc00_0000 && d + ulong.Parse(size) <= 0xc000_0000, $"bounce address inside the pool: {where}");
                    }
                    Assert.IsTrue(liveAddr.Add($"{dev} {dma}"), $"address mapped twice while live: {where}");
                    Add(live, $"page {dev} {dma} {size} {b.Groups["dir"].Value}");
                    break;
                }
                case "dma_unmap_page":
                    Assert.IsTrue(Remove(live, $"page {dev} {b.Groups["dma"].Value} {b.Groups["size"].Value} {b.Groups["dir"].Value}"), $"unmap of no live map: {where}");
                    liveAddr.Remove($"{dev} {b.Groups["dma"].Value}");
                    break;
                case "dma_map_sg":
                    Assert.AreEqual(b.Groups["dma"].Value, b.Groups["phys"].Value, $"dma-direct: dma_addrs == phys_addrs: {where}");
                    Assert.AreEqual(b.Groups["n2"].Value, b.Groups["e2"].Value, where);
                    Assert.AreEqual("NO_WARN", b.Groups["attrs"].Value, where);
                    foreach (var p in b.Groups["phys"].Value.Trim('{', '}').Split(','))
                        Assert.IsTrue(liveAddr.Add($"{dev} {p[2..]}"), $"address mapped twice while live: {where}");
                    Add(live, $"sg {dev} {b.Groups["phys"].Value} {b.Groups["dir"].Value}");
                    break;
                case "dma_unmap_sg":
                    Assert.IsTrue(Remove(live, $"sg {dev} {b.Groups["phys"].Value} {b.Groups["dir"].Value}"), $"unmap_sg of no live map: {where}");
                    foreach (var p in b.Groups["phys"].Value.Trim('{', '}').Split(',')) liveAddr.Remove($"{dev} {p[2..]}");
                    break;
                case "dma_alloc":
                    Assert.AreEqual("GFP_KERNEL", b.Groups["flags"].Value, where);
                    Add(live, $"coherent {dev} {b.Groups["dma"].Value} {b.Groups["size"].Value} {b.Groups["virt"].Value}");
                    break;
                case "dma_free":
                    Assert.IsTrue(Remove(live, $"coherent {dev} {b.Groups["dma"].Value} {b.Groups["size"].Value} {b.Groups["virt"].Value}"), $"free of no live alloc: {where}");
                    break;
            }
            bounce = ev == "swiotlb_bounced" ? $"{dev} {b.Groups["phys"].Value} {b.Groups["size"].Value}" : null;
        }
        return live.Values.Sum();

        static void Add(Dictionary<string, int> d, string key) => d[key] = d.GetValueOrDefault(key) + 1;

        static bool Remove(Dictionary<string, int> d, string key)
        {
            if (!d.TryGetValue(key, out int n)) return false;
            if (n == 1) d.Remove(key);
            else d[key] = n - 1;
            return true;
        }
    }

    private sealed class CountingHandler : ITraceEventHandler
    {
        public long[] ByKind { get; } = new long[DmaEventKinds.Count];
        public long Total { get; private set; }
        public HashSet<int> DeviceIds { get; } = [];
        public HashSet<int> Cpus { get; } = [];
        public int MinSgEntries { get; private set; } = int.MaxValue;
        public int MaxSgEntries { get; private set; }

        public void OnEvent(DmaEvent e)
        {
            ByKind[(int)e.Kind]++;
            Total++;
            Cpus.Add(e.Cpu);
            DeviceIds.Add(e.Device);
            if (e.Kind == DmaEventKind.DmaMapSg)
            {
                MinSgEntries = Math.Min(MinSgEntries, e.Nents);
                MaxSgEntries = Math.Max(MaxSgEntries, e.Nents);
            }
        }
    }
}
