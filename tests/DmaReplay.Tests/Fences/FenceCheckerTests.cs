using System.Text;
using System.Text.Json;
using DmaReplay.Engine;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Inputs;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Fences;

[TestClass]
public sealed class FenceCheckerTests
{
    /// <summary>dev-fence-sw-sync comes with the fence program's own record (groundtruth.json): the checks must agree with it.</summary>
    [TestMethod]
    public void TheRealFenceCaptureGivesExactlyItsGroundTruth()
    {
        var dir = TestPaths.RealBundle("dev-fence-sw-sync");
        var summary = new CheckRun(new CheckOptions()).Run(InputResolver.Resolve([dir]));
        using var truth = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "groundtruth.json")));
        var t = truth.RootElement;
        var expected = t.GetProperty("rules_expected");
        var findings = summary.Findings;
        long Count(string rule) => findings.Count(f => f.Rule == rule);
        Assert.AreEqual(expected.GetProperty("fence-seqno-regression").GetInt64(), Count(Rules.FenceSeqnoRegression));
        Assert.AreEqual(expected.GetProperty("fence-never-signaled").GetInt64(), Count(Rules.FenceNeverSignaled));
        Assert.AreEqual(expected.GetProperty("fence-destroy-unsignaled").GetInt64(), Count(Rules.FenceDestroyUnsignaled));
        Assert.AreEqual(expected.GetProperty("fence-double-signal").GetInt64(), Count(Rules.FenceDoubleSignal));
        Assert.AreEqual(expected.GetProperty("fence-signal-before-emit").GetInt64(), Count(Rules.FenceSignalBeforeEmit));
        Assert.AreEqual(expected.GetProperty("fence-never-signaled_of_which_waited_or_signaling_enabled").GetInt64(),
            findings.Count(f => f.Rule == Rules.FenceNeverSignaled && f.Severity == Severity.Error));

        // The same fences, at the same lines.
        var never = t.GetProperty("never_signaled_in_trace").EnumerateArray().Select(x => x.GetProperty("init_line").GetInt64()).Order().ToArray();
        CollectionAssert.AreEqual(never, findings.Where(f => f.Rule == Rules.FenceNeverSignaled).Select(f => f.Line).Order().ToArray());
        var regression = t.GetProperty("seqno_regressions")[0];
        var r = findings.Single(f => f.Rule == Rules.FenceSeqnoRegression);
        Assert.AreEqual(regression.GetProperty("init_line").GetInt64(), r.Line);
        StringAssert.Contains(r.Message, $"{regression.GetProperty("seqno").GetInt64()} after {regression.GetProperty("after_seqno").GetInt64()}");
        var destroyed = t.GetProperty("destroyed_unsignaled")[0];
        Assert.AreEqual(destroyed.GetProperty("destroy_line").GetInt64(), findings.Single(f => f.Rule == Rules.FenceDestroyUnsignaled).Line);

        // Waits measured in the kernel (DMA_BUF_IOCTL_SYNC) per timeline.
        var waits = t.GetProperty("kernel_waits").EnumerateArray().Sum(w => w.GetProperty("durations_s").GetArrayLength());
        var timelines = summary.Fences.Single().Timelines;
        Assert.AreEqual(waits, timelines.Sum(x => x.Wait.Count));
        var two = timelines.Single(x => x.Timeline == "swsync-two");
        Assert.AreEqual(("sw_sync", 2u), (two.Driver, two.Context));
        Assert.AreEqual(6, two.Fences, "5, 10, 15, 20, 25 and the regressed 8");

        var json = new MemoryStream();
        global::DmaReplay.Reports.Json.JsonExporter.Write(summary, json);
        using var doc = JsonDocument.Parse(json.ToArray());
        var jt = doc.RootElement.GetProperty("fences")[0].GetProperty("timelines").EnumerateArray().Single(x => x.GetProperty("timeline").GetString() == "swsync-two");
        Assert.AreEqual(two.Wait.Count, jt.GetProperty("wait").GetProperty("count").GetInt32());
        Assert.AreEqual(two.Wait.MaxNs, jt.GetProperty("wait").GetProperty("maxNs").GetInt64());
    }

    private static IReadOnlyList<Finding> Check(params string[] bodies)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < bodies.Length; i++)
        {
            var (evt, rest) = (bodies[i].Split(' ', 2)[0], bodies[i].Split(' ', 2)[1]);
            sb.Append(TraceHarness.Line("gpu", 7, 0, ".....", $"1.{i + 1:000000}", evt, rest)).Append('\n');
        }
        var path = Path.Combine(Path.GetTempPath(), "dmareplay-fence-" + Guid.NewGuid().ToString("n") + ".trace");
        File.WriteAllText(path, sb.ToString());
        try
        {
            return new CheckRun(new CheckOptions()).Run(InputResolver.Resolve([path])).Findings;
        }
        finally
        {
            File.Delete(path);
        }
    }

    private const string F = "driver=amdgpu timeline=gfx context=9 seqno=";

    [TestMethod]
    public void DoubleSignalAndSignalBeforeEmit()
    {
        var f = Check(
            $"dma_fence_init {F}1", $"dma_fence_emit {F}1", $"dma_fence_signaled {F}1", $"dma_fence_signaled {F}1",
            $"dma_fence_init {F}2", $"dma_fence_signaled {F}2", // this context emits its fences: 2 was never emitted
            $"dma_fence_destroy {F}1", $"dma_fence_destroy {F}2");
        CollectionAssert.AreEqual(new[] { (Rules.FenceDoubleSignal, 4L, (long?)3), (Rules.FenceSignalBeforeEmit, 6L, (long?)5) },
            f.Select(x => (x.Rule, x.Line, x.Related?.Line)).ToArray());
    }

    [TestMethod]
    public void OrderedSignalsAndANewFenceOfAReusedSeqnoAreFine()
    {
        var f = Check($"dma_fence_init {F}1", $"dma_fence_signaled {F}1", $"dma_fence_init {F}2", $"dma_fence_signaled {F}2",
            $"dma_fence_destroy {F}1", $"dma_fence_init {F}2", $"dma_fence_signaled {F}2");
        Assert.IsEmpty(f, string.Join("\n", f.Select(x => x.Message)));
    }

    [TestMethod]
    public void ANeverSignaledFenceIsAnErrorOnceSomethingWaitsOnIt()
    {
        var f = Check($"dma_fence_init {F}1", $"dma_fence_init {F}2", $"dma_fence_enable_signal {F}2");
        CollectionAssert.AreEqual(new[] { (Rules.FenceNeverSignaled, Severity.Warning), (Rules.FenceNeverSignaled, Severity.Error) },
            f.Select(x => (x.Rule, x.Severity)).ToArray());
    }
}
