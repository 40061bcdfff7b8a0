using CsCheck;
using DmaReplay.Engine;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Inputs;
using DmaReplay.Engine.Platform;
using DmaReplay.Engine.Synthesis;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Checks;

/// <summary>
/// traces/synthetic: one trace per rule (and a correct and a mixed one), each with the manifest
/// the generator wrote. `check` must report exactly the manifest's findings — the injected faults
/// and the mappings the generator left live — no more and no fewer.
/// </summary>
[TestClass]
public sealed class SyntheticCorpusTests
{
    public static IEnumerable<object[]> Traces =>
        Directory.GetFiles(TestPaths.Traces("synthetic"), "*.trace").Order(StringComparer.Ordinal).Select(p => new object[] { Path.GetFileName(p) });

    private static List<(string, long, long?)> Check(string tracePath, SynthManifest m)
    {
        var findings = CheckFindings(tracePath, m);
        AssertSeverities(m, findings);
        return findings.Select(f => (f.Rule, f.Line, f.Related?.Line)).Order().ToList();
    }

    private static IReadOnlyList<Finding> CheckFindings(string tracePath, SynthManifest m)
    {
        var options = new CheckOptions
        {
            Platform = CheckPlatform.From(PlatformSettings.Apply(PlatformPresets.All[m.Platform](), m.Settings)),
        };
        var summary = new CheckRun(options).Run(InputResolver.Resolve([tracePath]));
        Assert.AreEqual(0L, summary.TotalMalformed);
        return summary.Findings;
    }

    /// <summary>Where the manifest names a severity (fence-never-signaled: warning, or error when waited on), the finding has it.</summary>
    internal static void AssertSeverities(SynthManifest m, IReadOnlyList<Finding> findings)
    {
        foreach (var e in m.ExpectedFindings.Where(e => e.Severity is not null))
        {
            var found = findings.Where(f => f.Rule == e.Rule && f.Line == e.Line && f.Related?.Line == e.RelatedLine).ToList();
            Assert.HasCount(1, found, $"{e.Rule} at line {e.Line}");
            Assert.AreEqual(e.Severity, found[0].Severity, $"{e.Rule} at line {e.Line}");
            Assert.AreEqual(e.Device, found[0].Device, $"{e.Rule} at line {e.Line}");
        }
    }

    private static List<(string, long, long?)> Expected(SynthManifest m) =>
        m.ExpectedFindings.Select(f => (f.Rule, f.Line, f.RelatedLine)).Order().ToList();

    [TestMethod]
    [DynamicData(nameof(Traces))]
    public void FindingsEqualTheManifest(string name)
    {
        var path = TestPaths.Traces("synthetic", name);
        var m = SynthManifest.Read(path + ".manifest.json");
        var expected = Expected(m);
        var actual = Check(path, m);
        var missing = expected.Except(actual).ToList();
        var extra = actual.Except(expected).ToList();
        Assert.IsTrue(missing.Count == 0 && extra.Count == 0,
            $"missing: {string.Join(", ", missing.Take(10))}; extra: {string.Join(", ", extra.Take(10))}");
        CollectionAssert.AreEqual(expected, actual, "the same findings, the same number of times");

        string rule = Path.GetFileNameWithoutExtension(name);
        if (Rules.Find(rule) is not null)
        {
            // A per-rule trace really holds its fault, or the test would prove nothing.
            Assert.IsGreaterThanOrEqualTo(1L, m.Injected.Single(kv => kv.Key == rule).Value);
            Assert.IsTrue(m.ExpectedFindings.Any(f => f.Rule == rule && f.Injected));
        }
    }

    [TestMethod]
    public void TheCorrectTraceHasOnlyTheLiveRingsAtTheEnd()
    {
        var m = SynthManifest.Read(TestPaths.Traces("synthetic", "correct.trace.manifest.json"));
        Assert.IsEmpty(m.Injected);
        Assert.IsTrue(m.ExpectedFindings.All(f => f.Rule == Rules.LeakAtEnd && !f.Injected));
        Assert.IsGreaterThanOrEqualTo(512, m.ExpectedFindings.Count, "two rx rings of 256 buffers stay mapped");
    }

    [TestMethod]
    public void RandomInjectionMixesAreFoundExactly()
    {
        // Every fault works with the default workload: the fence faults write their own contexts (no --workloads fences needed).
        var injectable = TraceSynthesizer.Injectable.Where(r => r != Rules.LeakGrowth).ToArray();
        var gen = from seed in Gen.Int[1, 1_000_000]
                  from events in Gen.Int[2000, 4000] // long enough that the rings' start-up fill is not mistaken for growth
                  from picks in Gen.Int[0, injectable.Length - 1].Array[1, 5]
                  select (seed, events, picks);
        gen.Sample(t =>
        {
            var injections = t.picks.Distinct().ToDictionary(i => injectable[i], _ => 0.01);
            var options = new SynthOptions { Seed = t.seed, Events = t.events, Injections = injections, Manifest = true };
            var dir = Path.Combine(Path.GetTempPath(), "dmareplay-synth-" + Guid.NewGuid().ToString("n"));
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, "t.trace");
            SynthReport report;
            using (var f = File.Create(path)) report = TraceSynthesizer.Write(options, f);
            try
            {
                // leak-growth is a heuristic over the live-mapping curve, tested on its own traces; a few
                // random mixes (seeds 369509, 479018) rise late enough to trip it without an injected leak,
                // so here it is left out of both sides and every injected rule must match exactly.
                CollectionAssert.AreEqual(Expected(report.Manifest!).Where(f => f.Item1 != Rules.LeakGrowth).ToList(),
                    Check(path, report.Manifest!).Where(f => f.Item1 != Rules.LeakGrowth).ToList());
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }, iter: 25);
    }
}
