using System.Text;
using System.Text.RegularExpressions;
using DmaReplay.Engine;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Inputs;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Replay;
using DmaReplay.Engine.Synthesis;
using DmaReplay.Tests.Checks;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Synthesis;

/// <summary>
/// The fence workload (<c>--workloads fences</c>) and the fence faults: the kernel's dma_fence
/// lines in the kernel's order, deterministic, correct unless a fault is injected, and the
/// traces/synthetic fence traces found exactly (SyntheticCorpusTests holds every trace to its
/// manifest; here the fence specifics).
/// </summary>
[TestClass]
public sealed class FenceSynthesisTests
{
    /// <summary>The fence traces of traces/synthetic and the options they were written with.</summary>
    public static IEnumerable<object?[]> FenceTraces =>
    [
        ["fences.trace", 130, 3000, null],
        ["fence-double-signal.trace", 131, 1500, Rules.FenceDoubleSignal],
        ["fence-seqno-regression.trace", 136, 1500, Rules.FenceSeqnoRegression],
        ["fence-never-signaled.trace", 133, 1500, Rules.FenceNeverSignaled],
        ["fence-destroy-unsignaled.trace", 134, 1500, Rules.FenceDestroyUnsignaled],
        ["fence-signal-before-emit.trace", 135, 1500, Rules.FenceSignalBeforeEmit],
    ];

    private static SynthOptions Options(int seed, long events, string? rule) => new()
    {
        Seed = seed, Events = events, Workloads = SynthWorkloads.Fences, Manifest = true,
        Injections = rule is null ? new Dictionary<string, double>() : new Dictionary<string, double> { [rule] = 0.01 },
    };

    private static (byte[] Trace, byte[] Manifest) Generate(SynthOptions options)
    {
        using var trace = new MemoryStream();
        var report = TraceSynthesizer.Write(options, trace);
        using var manifest = new MemoryStream();
        report.Manifest!.Write(manifest);
        return (trace.ToArray(), manifest.ToArray());
    }

    private static IReadOnlyList<Finding> Check(string path) =>
        new CheckRun(new CheckOptions()).Run(InputResolver.Resolve([path])).Findings;

    private static IReadOnlyList<Finding> Fence(IEnumerable<Finding> findings) =>
        findings.Where(f => f.Rule.StartsWith("fence-", StringComparison.Ordinal)).ToList();

    [TestMethod]
    [DynamicData(nameof(FenceTraces))]
    public void TheCorpusTraceIsWhatTheGeneratorWritesForItsSeed(string name, int seed, int events, string? rule)
    {
        var path = TestPaths.Traces("synthetic", name);
        var (trace, manifest) = Generate(Options(seed, events, rule));
        CollectionAssert.AreEqual(File.ReadAllBytes(path), trace, "same options, same bytes");
        CollectionAssert.AreEqual(File.ReadAllBytes(path + ".manifest.json"), manifest);
        var again = Generate(Options(seed, events, rule));
        CollectionAssert.AreEqual(trace, again.Trace);
        CollectionAssert.AreNotEqual(trace, Generate(Options(seed + 1, events, rule)).Trace);
    }

    [TestMethod]
    public void WithoutTheFenceWorkloadTheTraceIsUnchanged()
    {
        // correct.trace was written before the fence workload existed: the fence generator draws from its own Random
        var m = SynthManifest.Read(TestPaths.Traces("synthetic", "correct.trace.manifest.json"));
        var (trace, _) = Generate(new SynthOptions { Seed = m.Seed, Events = m.Events, Manifest = true });
        CollectionAssert.AreEqual(File.ReadAllBytes(TestPaths.Traces("synthetic", "correct.trace")), trace);
        Assert.DoesNotContain("dma_fence", Encoding.ASCII.GetString(trace));
    }

    [TestMethod]
    public void EachFenceRuleIsFoundExactlyOnItsTrace()
    {
        // (rule, line, related line, severity) of every fence finding, as the manifests list them
        var expected = new Dictionary<string, (int Count, Severity[] Severities, string[] Rules)>
        {
            ["fence-double-signal.trace"] = (3, [Severity.Error, Severity.Error, Severity.Error], [Rules.FenceDoubleSignal]),
            ["fence-seqno-regression.trace"] = (2, [Severity.Error, Severity.Error], [Rules.FenceSeqnoRegression]),
            // the faults alternate: not waited on (warning), waited on with a timeout (error)
            ["fence-never-signaled.trace"] = (3, [Severity.Warning, Severity.Error, Severity.Warning], [Rules.FenceNeverSignaled]),
            // a fence destroyed unsignaled is also never signaled: two findings per fault
            ["fence-destroy-unsignaled.trace"] = (8, [.. Enumerable.Repeat(Severity.Warning, 4), .. Enumerable.Repeat(Severity.Error, 4)],
                [Rules.FenceDestroyUnsignaled, Rules.FenceNeverSignaled]),
            ["fence-signal-before-emit.trace"] = (3, [Severity.Error, Severity.Error, Severity.Error], [Rules.FenceSignalBeforeEmit]),
        };
        foreach (var (name, (count, severities, rules)) in expected)
        {
            var path = TestPaths.Traces("synthetic", name);
            var m = SynthManifest.Read(path + ".manifest.json");
            var fence = Fence(Check(path));
            Assert.HasCount(count, fence, name);
            CollectionAssert.AreEquivalent(rules, fence.Select(f => f.Rule).Distinct().ToArray(), name);
            CollectionAssert.AreEqual(severities.Order().ToArray(), fence.Select(f => f.Severity).Order().ToArray(), name);
            Assert.IsTrue(fence.All(f => f.Device == "synth_gpu:fault" && f.DmaAddr == 0), name);

            var manifestFence = m.ExpectedFindings.Where(f => f.Rule.StartsWith("fence-", StringComparison.Ordinal)).ToList();
            CollectionAssert.AreEqual(
                manifestFence.Select(f => (f.Rule, f.Line, f.RelatedLine, f.Severity)).Order().ToList(),
                fence.Select(f => (f.Rule, f.Line, f.Related?.Line, (Severity?)f.Severity)).Order().ToList(), name);
            SyntheticCorpusTests.AssertSeverities(m, fence);
        }

        // never-signaled: in line order warning, error, warning; the error's fence was waited on
        var never = Fence(Check(TestPaths.Traces("synthetic", "fence-never-signaled.trace"))).OrderBy(f => f.Line).ToList();
        CollectionAssert.AreEqual(new[] { Severity.Warning, Severity.Error, Severity.Warning }, never.Select(f => f.Severity).ToArray());
        StringAssert.Contains(never[1].Message, "something waited on it or enabled signaling");
    }

    [TestMethod]
    public void TheFenceWorkloadAloneGivesNoFenceFinding()
    {
        var path = TestPaths.Traces("synthetic", "fences.trace");
        var m = SynthManifest.Read(path + ".manifest.json");
        Assert.IsEmpty(m.Injected);
        Assert.IsTrue(m.ExpectedFindings.All(f => f.Rule == Rules.LeakAtEnd && !f.Injected), "only the rings still mapped at the end");

        var summary = new CheckRun(new CheckOptions()).Run(InputResolver.Resolve([path]));
        Assert.IsEmpty(Fence(summary.Findings));
        var timelines = summary.Fences.Single().Timelines.OrderBy(t => t.Context).ToList();
        var text = File.ReadAllLines(path);
        int Count(string ev, string timeline) => text.Count(l => l.Contains($" {ev}: driver=synth_gpu timeline={timeline} ", StringComparison.Ordinal));
        CollectionAssert.AreEqual(new[] { ("gfx", 1u), ("copy", 2u) }, timelines.Select(t => (t.Timeline, t.Context)).ToArray());
        foreach (var t in timelines)
        {
            Assert.AreEqual("synth_gpu", t.Driver);
            Assert.AreEqual(Count("dma_fence_init", t.Timeline), t.Fences);
            Assert.AreEqual(t.Fences, t.Signaled, "every fence signals");
            Assert.AreEqual(t.Fences, t.EmitToSignaled.Count);
            Assert.AreEqual(Count("dma_fence_wait_end", t.Timeline), t.Wait.Count);
            Assert.IsGreaterThan(0, t.Wait.Count, t.Timeline + ": some fences are waited on");
            Assert.IsGreaterThanOrEqualTo(20_000L, t.EmitToSignaled.MinNs, "a job takes at least 20 µs");
        }
        CollectionAssert.AreEqual(new[] { (31, 8), (19, 4) }, timelines.Select(t => (t.Fences, t.Wait.Count)).ToArray(), "seed 130: gfx gets most jobs");
    }

    // include/trace/events/dma_fence.h, 6.12: "driver=%s timeline=%s context=%u seqno=%u"
    private static readonly Regex FenceLine = new(
        @"^(?<comm>.{16})-(?<pid>\d+) *\[(?<cpu>\d{3})\] (?<flags>\S{5}) +(?<secs>\d+)\.(?<usecs>\d{6}): (?<event>dma_fence_[a-z_]+): driver=(?<driver>\S+) timeline=(?<timeline>\S+) context=(?<context>\d+) seqno=(?<seqno>\d+)$",
        RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>The real capture's flags per event (dev-fence-sw-sync): signaled and enable_signal under the fence lock with interrupts off.</summary>
    private static readonly Dictionary<string, string> RealFlags = new()
    {
        ["dma_fence_init"] = ".....", ["dma_fence_emit"] = ".....", ["dma_fence_enable_signal"] = "d..1.",
        ["dma_fence_signaled"] = "d..1.", ["dma_fence_wait_start"] = ".....", ["dma_fence_wait_end"] = ".....",
        ["dma_fence_destroy"] = ".....",
    };

    [TestMethod]
    public void FenceLinesHaveTheKernelsFormatFlagsAndOrder()
    {
        // The grammar and flags are the real capture's.
        foreach (var line in File.ReadLines(Path.Combine(TestPaths.RealBundle("dev-fence-sw-sync"), "trace.txt")).Where(l => l.Contains(": dma_fence_", StringComparison.Ordinal)))
        {
            var m = FenceLine.Match(line);
            Assert.IsTrue(m.Success, line);
            Assert.AreEqual(RealFlags[m.Groups["event"].Value], m.Groups["flags"].Value, line);
        }

        var lines = File.ReadAllLines(TestPaths.Traces("synthetic", "fences.trace"));
        var byFence = new Dictionary<(uint, uint), List<(string Event, string Task, int Cpu)>>();
        var lastSeqno = new Dictionary<uint, uint>();
        var lastSignaled = new Dictionary<uint, uint>();
        int fenceLines = 0;
        foreach (var line in lines.Where(l => l.Contains(": dma_fence_", StringComparison.Ordinal)))
        {
            var m = FenceLine.Match(line);
            Assert.IsTrue(m.Success, line);
            fenceLines++;
            string ev = m.Groups["event"].Value;
            Assert.AreEqual(RealFlags[ev], m.Groups["flags"].Value, line);
            Assert.AreEqual("synth_gpu", m.Groups["driver"].Value);
            uint ctx = uint.Parse(m.Groups["context"].Value), seqno = uint.Parse(m.Groups["seqno"].Value);
            Assert.AreEqual(ctx == 1 ? "gfx" : "copy", m.Groups["timeline"].Value, line);
            string task = m.Groups["comm"].Value.Trim() + "-" + m.Groups["pid"].Value;
            if (ev == "dma_fence_init")
            {
                Assert.AreEqual(lastSeqno.GetValueOrDefault(ctx) + 1, seqno, "++fctx->sequence: " + line);
                lastSeqno[ctx] = seqno;
                byFence[(ctx, seqno)] = [];
            }
            if (ev == "dma_fence_signaled")
            {
                Assert.AreEqual(lastSignaled.GetValueOrDefault(ctx) + 1, seqno, "a ring signals in order: " + line);
                lastSignaled[ctx] = seqno;
                Assert.AreEqual("kworker/1:1H-93", task);
                Assert.AreEqual("001", m.Groups["cpu"].Value, "a per-CPU worker");
            }
            byFence[(ctx, seqno)].Add((ev, task, int.Parse(m.Groups["cpu"].Value)));
        }
        Assert.HasCount(50, byFence);
        Assert.AreEqual(fenceLines, byFence.Values.Sum(v => v.Count));

        string[] plain = ["dma_fence_init", "dma_fence_emit", "dma_fence_signaled", "dma_fence_destroy"];
        string[] waited = ["dma_fence_init", "dma_fence_emit", "dma_fence_enable_signal", "dma_fence_wait_start", "dma_fence_signaled", "dma_fence_wait_end", "dma_fence_destroy"];
        int waits = 0;
        foreach (var ((ctx, seqno), evs) in byFence)
        {
            var names = evs.Select(e => e.Event).ToArray();
            if (names.Length == plain.Length)
            {
                CollectionAssert.AreEqual(plain, names, $"context {ctx} seqno {seqno}");
                continue;
            }
            CollectionAssert.AreEqual(waited, names, $"context {ctx} seqno {seqno}");
            waits++;
            var submitter = evs[0].Task;
            Assert.AreEqual(submitter, evs[1].Task);
            Assert.AreEqual(evs[0].Cpu, evs[1].Cpu, "init and emit back to back");
            Assert.AreNotEqual(submitter, evs[2].Task, "the waiter is another task");
            Assert.AreEqual(evs[2].Task, evs[3].Task);
            Assert.AreEqual(evs[2].Cpu, evs[3].Cpu);
            Assert.AreEqual(evs[2].Task, evs[5].Task);
            Assert.AreEqual(submitter, evs[6].Task);
        }
        Assert.AreEqual(12, waits);

        // One wait at a time per waiter: a task's wait_start is followed by its wait_end before its next wait_start.
        var inWait = new HashSet<string>();
        foreach (var line in lines.Where(l => l.Contains(": dma_fence_wait_", StringComparison.Ordinal)))
        {
            var m = FenceLine.Match(line);
            string task = m.Groups["comm"].Value.Trim() + "-" + m.Groups["pid"].Value;
            if (m.Groups["event"].Value == "dma_fence_wait_start") Assert.IsTrue(inWait.Add(task), line);
            else Assert.IsTrue(inWait.Remove(task), line);
        }
        Assert.IsEmpty(inWait);
    }

    [TestMethod]
    [DynamicData(nameof(FenceTraces))]
    public void ReplayGivesTheSameFenceFindingsAsCheck(string name, int seed, int events, string? rule)
    {
        _ = (seed, events, rule);
        var path = TestPaths.Traces("synthetic", name);
        var m = SynthManifest.Read(path + ".manifest.json");
        var (platform, facts, own) = PlatformSource.Resolve(path, m.Platform, m.Settings);
        var replay = new ReplayRun(new CheckOptions { Platform = CheckPlatform.From(platform) }).Run(path, path, platform, facts, own);
        var check = Check(path);
        CollectionAssert.AreEqual(
            Fence(check).Select(f => (f.Rule, f.Line, f.Related?.Line, f.Severity, f.Message)).Order().ToList(),
            Fence(replay.Findings).Select(f => (f.Rule, f.Line, f.Related?.Line, f.Severity, f.Message)).Order().ToList());
        Assert.AreEqual(check.Count, replay.Findings.Count, "and the same findings overall");
        CollectionAssert.AreEqual(
            replay.Fences.Single().Timelines.Select(t => (t.Timeline, t.Context, t.Fences, t.Signaled)).ToList(),
            new CheckRun(new CheckOptions()).Run(InputResolver.Resolve([path])).Fences.Single().Timelines.Select(t => (t.Timeline, t.Context, t.Fences, t.Signaled)).ToList());
    }

    [TestMethod]
    public void FenceFaultsNeedNoWorkloadAndCombine()
    {
        // All five on the default traffic, without --workloads fences: the manifest is exactly what check reports.
        var rules = new[] { Rules.FenceDoubleSignal, Rules.FenceSeqnoRegression, Rules.FenceNeverSignaled, Rules.FenceDestroyUnsignaled, Rules.FenceSignalBeforeEmit };
        var options = new SynthOptions { Seed = 5, Events = 3000, Manifest = true, Injections = rules.ToDictionary(r => r, _ => 0.01) };
        var path = Path.Combine(Path.GetTempPath(), "dmareplay-fence-" + Guid.NewGuid().ToString("n") + ".trace");
        try
        {
            SynthReport report;
            using (var f = File.Create(path)) report = TraceSynthesizer.Write(options, f);
            var m = report.Manifest!;
            CollectionAssert.AreEquivalent(rules, m.Injected.Select(kv => kv.Key).ToArray(), "each fired at least once");
            var findings = Check(path);
            CollectionAssert.AreEqual(
                m.ExpectedFindings.Select(f => (f.Rule, f.Line, f.RelatedLine)).Order().ToList(),
                findings.Select(f => (f.Rule, f.Line, f.Related?.Line)).Order().ToList());
            SyntheticCorpusTests.AssertSeverities(m, findings);
            var contexts = File.ReadLines(path).Where(l => l.Contains(" dma_fence_init: ", StringComparison.Ordinal))
                .Select(l => Regex.Match(l, @"context=(\d+)").Groups[1].Value).Distinct().Count();
            Assert.AreEqual((int)m.Injected.Sum(kv => kv.Value), contexts, "one context per fault, from 1 when there are no rings");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    [DataRow(11)]
    [DataRow(12)]
    public void TheFenceWorkloadCombinesWithTheOtherWorkloadsAndFaults(int seed)
    {
        var options = new SynthOptions
        {
            Seed = seed, Events = 4000, Manifest = true,
            Workloads = SynthWorkloads.Pools | SynthWorkloads.Unbind | SynthWorkloads.AtomicPressure | SynthWorkloads.Fences,
            Injections = new Dictionary<string, double> { [Rules.FenceNeverSignaled] = 0.01, [Rules.PoolDoubleFree] = 0.01, [Rules.DoubleUnmap] = 0.01 },
        };
        var path = Path.Combine(Path.GetTempPath(), "dmareplay-fence-" + Guid.NewGuid().ToString("n") + ".trace");
        try
        {
            SynthReport report;
            using (var f = File.Create(path)) report = TraceSynthesizer.Write(options, f);
            var m = report.Manifest!;
            Assert.AreEqual(4000L, report.Events);
            Assert.AreEqual(3, m.Injected.Count, "every fault fired");
            var summary = new CheckRun(new CheckOptions { Platform = CheckPlatform.From(PlatformPresets.All[m.Platform]()) }).Run(InputResolver.Resolve([path]));
            CollectionAssert.AreEqual(
                m.ExpectedFindings.Select(f => (f.Rule, f.Line, f.RelatedLine)).Order().ToList(),
                summary.Findings.Select(f => (f.Rule, f.Line, f.Related?.Line)).Order().ToList());
            SyntheticCorpusTests.AssertSeverities(m, summary.Findings);
            var rings = summary.Fences.Single().Timelines.Where(t => t.Timeline != "fault").ToList();
            Assert.HasCount(2, rings);
            Assert.IsTrue(rings.All(t => t.Fences == t.Signaled && t.Fences > 0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void TheWorkloadIsParsedAndRejectedWithTheNonCoherentOne()
    {
        Assert.IsTrue(SynthOptions.TryParseWorkloads("pools,fences", out var w, out var error));
        Assert.IsNull(error);
        Assert.AreEqual(SynthWorkloads.Pools | SynthWorkloads.Fences, w);
        Assert.IsFalse(SynthOptions.TryParseWorkloads("fence", out _, out error));
        Assert.AreEqual("unknown workload 'fence' (known: pools, unbind, atomic, fences, noncoherent)", error);
        Assert.AreEqual("the non-coherent workload injects only cacheline-overlap, not 'fence-double-signal'",
            new SynthOptions { NonCoherent = true, Injections = new Dictionary<string, double> { [Rules.FenceDoubleSignal] = 0.1 } }.Validate());
        CollectionAssert.IsSubsetOf(
            new[] { Rules.FenceDoubleSignal, Rules.FenceSeqnoRegression, Rules.FenceNeverSignaled, Rules.FenceDestroyUnsignaled, Rules.FenceSignalBeforeEmit },
            TraceSynthesizer.Injectable.ToArray());
    }

    [TestMethod]
    public void EveryFenceLineIsReservedSoShortTracesStillEndCorrect()
    {
        // Tiny budgets: the fences in flight still complete before the "workload end" marker, and the count is exact.
        foreach (long events in new long[] { 0, 1, 5, 40, 333 })
        {
            var options = new SynthOptions { Seed = 9, Events = events, Workloads = SynthWorkloads.Fences };
            using var ms = new MemoryStream();
            var report = TraceSynthesizer.Write(options, ms);
            Assert.AreEqual(events, report.Events);
            var text = Encoding.ASCII.GetString(ms.ToArray());
            Assert.AreEqual(events + 12, text.Count(c => c == '\n'));
            Assert.AreEqual(report.Count(global::DmaReplay.Parsers.Model.DmaEventKind.DmaFenceInit), report.Count(global::DmaReplay.Parsers.Model.DmaEventKind.DmaFenceDestroy), $"{events} events");
            Assert.AreEqual(report.Count(global::DmaReplay.Parsers.Model.DmaEventKind.DmaFenceInit), report.Count(global::DmaReplay.Parsers.Model.DmaEventKind.DmaFenceSignaled), $"{events} events");
            if (events >= 1) StringAssert.EndsWith(text, "capture-phase: workload end\n");
        }
    }
}
