using System.Text.Json;
using System.Text.RegularExpressions;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Parsers;

/// <summary>
/// Every real Linux 6.12 capture in traces/real parses completely, and our counts equal counts
/// taken independently: a plain regex over the lines, and the capture's own meta.json.
/// </summary>
[TestClass]
public sealed partial class RealTraceGoldenTests
{
    // comm-pid [cpu] flags secs.usecs: name: — written from the bundle README's grammar, not from our reader.
    [GeneratedRegex(@"^\s*.+-\d+\s+\[\d{3}\]\s+[.dDbXnNpLBhHsSzZ0-9a-f]{5}\s+\d+\.\d{6}: ([^ :]+):? ")]
    private static partial Regex EventLine();

    public static IEnumerable<object[]> Bundles => TestPaths.RealBundles.Select(b => new object[] { b });

    [TestMethod]
    [DynamicData(nameof(Bundles))]
    public void CountsEqualAnIndependentRegexCount(string bundle)
    {
        var path = Path.Combine(TestPaths.RealBundle(bundle), "trace.txt");
        var expected = new Dictionary<string, long>();
        long stackEntries = 0, frames = 0, headers = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith('#')) { headers++; continue; }
            if (line.StartsWith(" => ")) { frames++; continue; }
            var m = EventLine().Match(line);
            Assert.IsTrue(m.Success, "regex must match every other line: " + line);
            if (m.Groups[1].Value == "<stack") { stackEntries++; continue; }
            expected[m.Groups[1].Value] = expected.GetValueOrDefault(m.Groups[1].Value) + 1;
        }

        var h = TraceHarness.ReadFile(path);
        h.AssertAccounted();
        Assert.AreEqual(0L, h.Stats.Malformed, string.Join("\n", h.Stats.Diagnostics));
        Assert.AreEqual(headers, h.Stats.SkippedCount(SkipReason.Header));
        Assert.AreEqual(stackEntries, h.Stats.StackTraces);
        Assert.AreEqual(frames, h.Stats.StackFrames);
        var actual = new Dictionary<string, long>();
        for (int k = 0; k < DmaEventKinds.Count; k++)
        {
            if (h.Stats.EventsByKind[k] > 0) actual[((DmaEventKind)k).Name()] = h.Stats.EventsByKind[k];
        }
        foreach (var (name, n) in h.Stats.OtherEvents) actual[name] = n;
        CollectionAssert.AreEquivalent(expected.OrderBy(kv => kv.Key).ToList(), actual.OrderBy(kv => kv.Key).ToList());
    }

    [TestMethod]
    [DynamicData(nameof(Bundles))]
    public void CountsEqualTheCapturesOwnMetadata(string bundle)
    {
        using var meta = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RealBundle(bundle), "meta.json")));
        var t = meta.RootElement.GetProperty("trace");
        var h = TraceHarness.ReadFile(Path.Combine(TestPaths.RealBundle(bundle), "trace.txt"));

        Assert.AreEqual(t.GetProperty("lines").GetInt64(), h.Stats.Lines);
        Assert.AreEqual(t.GetProperty("event_lines").GetInt64(), h.Stats.Events + h.Stats.SkippedCount(SkipReason.OtherEvent));
        Assert.AreEqual(t.GetProperty("stacktrace_headers").GetInt64(), h.Stats.StackTraces);
        Assert.AreEqual(t.GetProperty("stacktrace_frames").GetInt64(), h.Stats.StackFrames);
        Assert.AreEqual(t.GetProperty("header_entries_written").GetInt64(), h.Stats.HeaderEntriesWritten);
        Assert.AreEqual(t.GetProperty("header_cpus").GetInt32(), h.Stats.HeaderCpus);
        Assert.AreEqual(0L, h.Stats.LostEvents);
        foreach (var kv in t.GetProperty("event_counts").EnumerateObject())
        {
            long ours = DmaEventKinds.TryParse(kv.Name, out var kind)
                ? h.Stats.EventCount(kind)
                : h.Stats.OtherEvents.Single(o => o.Key == kv.Name).Value;
            Assert.AreEqual(kv.Value.GetInt64(), ours, kv.Name);
        }
        long failed = h.Events.Count(e => e.Kind == DmaEventKind.DmaMapPage && e.DmaAddr == DmaAddress.MappingError);
        Assert.AreEqual(t.GetProperty("failed_dma_map_page_events").GetInt64(), failed);
        Assert.AreEqual((long)Math.Round(t.GetProperty("first_ts").GetDouble() * 1e6) * 1000, h.Stats.FirstTimestampNs);
        Assert.AreEqual((long)Math.Round(t.GetProperty("last_ts").GetDouble() * 1e6) * 1000, h.Stats.LastTimestampNs);

        // Per-device counts of the dma_* and swiotlb_bounced events, as the capture tooling counted them
        // (it files fence events under their first body token, "driver=…", which is no device).
        foreach (var ev in t.GetProperty("event_counts_by_device").EnumerateObject())
        {
            Assert.IsTrue(DmaEventKinds.TryParse(ev.Name, out var kind), ev.Name);
            if (kind.IsFence()) continue;
            foreach (var dev in ev.Value.EnumerateObject())
            {
                long ours = h.Events.Count(e => e.Kind == kind && h.Device(e) == dev.Name);
                Assert.AreEqual(dev.Value.GetInt64(), ours, $"{ev.Name} on {dev.Name}");
            }
        }
    }

    [TestMethod]
    public void StackTracesAttachToTheirEvents()
    {
        var h = TraceHarness.ReadFile(Path.Combine(TestPaths.RealBundle("dev-stacktrace"), "trace.txt"));
        Assert.AreEqual(672, h.Events.Count(e => e.KernelStack >= 0), "every DMA event of this capture has a stack");
        var first = h.Events[0];
        Assert.AreEqual(DmaEventKind.DmaAlloc, first.Kind);
        var frames = h.Stack(first.KernelStack);
        Assert.HasCount(17, frames);
        Assert.AreEqual("trace_event_raw_event_dma_alloc_class", frames[0]);
        Assert.AreEqual("dma_alloc_attrs", frames[1]);
        Assert.AreEqual("nvme_alloc_queue", frames[2]);
        Assert.AreEqual("ret_from_fork_asm", frames[16]);
    }

    /// <summary>
    /// trace.txt and trace-cmd-report.txt of dev-direct hold the same ring buffer (bundle README):
    /// both readers' events must agree field by field, including dma_map_sg, which trace-cmd can
    /// only print as raw bytes.
    /// </summary>
    [TestMethod]
    public void TraceCmdReportDecodesToTheSameEventsAsTheTraceFile()
    {
        var text = TraceHarness.ReadFile(Path.Combine(TestPaths.RealBundle("dev-direct"), "trace.txt"));
        var report = TraceHarness.ReadFile(Path.Combine(TestPaths.RealBundle("dev-direct"), "trace-cmd-report.txt"));
        report.AssertAccounted();
        Assert.AreEqual("trace-cmd-report", report.Stats.Format);
        Assert.AreEqual(0L, report.Stats.Malformed, string.Join("\n", report.Stats.Diagnostics));
        Assert.AreEqual(24L, report.Stats.OtherEvents.Single(o => o.Key == "print").Value);

        var a = text.Events.OrderBy(e => (e.TimestampNs, e.Cpu, e.Kind)).ToList();
        var b = report.Events.OrderBy(e => (e.TimestampNs, e.Cpu, e.Kind)).ToList();
        Assert.HasCount(3575, a);
        Assert.HasCount(a.Count, b);
        for (int i = 0; i < a.Count; i++)
        {
            var (x, y) = (a[i], b[i]);
            string where = $"trace.txt line {x.Position.Line} vs report line {y.Position.Line}";
            Assert.AreEqual(x.Kind, y.Kind, where);
            Assert.AreEqual(x.Pid, y.Pid, where);
            Assert.AreEqual(text.Device(x), report.Device(y), where);
            Assert.AreEqual(x.DmaAddr, y.DmaAddr, where);
            Assert.AreEqual(x.Size, y.Size, where);
            Assert.AreEqual(x.PhysAddr, y.PhysAddr, where);
            Assert.AreEqual(x.Attrs, y.Attrs, where);
            Assert.AreEqual(x.Nents, y.Nents, where);
            Assert.AreEqual(x.Ents, y.Ents, where);
            CollectionAssert.AreEqual(x.PhysAddrs, y.PhysAddrs, where);
            CollectionAssert.AreEqual(x.DmaAddrs, y.DmaAddrs, where);
            CollectionAssert.AreEqual(x.Lengths, y.Lengths, where);
            if (x.Kind != DmaEventKind.DmaAlloc) Assert.AreEqual(x.Direction, y.Direction, where); // 6.12 dma_alloc dir is stale ring-buffer data
        }
    }
}
