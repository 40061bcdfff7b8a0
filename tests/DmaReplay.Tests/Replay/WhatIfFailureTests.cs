using System.Text.Json;
using DmaReplay.Engine.Synthesis;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Replay;

/// <summary>
/// A what-if whose emulated map fails where the kernel's succeeded: the driver of the what-if saw
/// the failure, so its later unmap and syncs of that handle never happen. They are counted, not
/// passed to the checks (which would report them as unmaps of memory never mapped).
/// </summary>
[TestClass]
public sealed class WhatIfFailureTests
{
    [TestMethod]
    public void ReleasesOfMapsTheEmulationFailedAreNotCheckedAsMisuse()
    {
        string dir = CliHarness.NewDir(), trace = Path.Combine(dir, "t.trace"), json = Path.Combine(dir, "s.json");
        using (var f = File.Create(trace)) TraceSynthesizer.Write(new SynthOptions { Seed = 7, Events = 20_000 }, f);
        // Forced bouncing: NVMe transfers above swiotlb_max_mapping_size (256 KiB) cannot bounce and fail.
        var (code, _, err) = CliHarness.Run("replay", trace, "--platform", "x86-64-default", "--set", "swiotlb.force=true",
            "-o", dir, "--json", json, "--fail-on", "none");
        Assert.AreEqual(0, code, err);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var failures = doc.RootElement.GetProperty("agreement").GetProperty("failures");
        long predicted = failures.GetProperty("predicted").GetInt64();
        long notReplayed = failures.GetProperty("releasesNotReplayed").GetInt64();
        Assert.IsGreaterThan(0L, predicted, "the what-if fails some maps");
        Assert.AreEqual(0L, failures.GetProperty("recorded").GetInt64(), "the capture's kernel failed none");
        Assert.IsTrue(notReplayed > 0 && notReplayed <= predicted, $"{notReplayed} releases of {predicted} failed maps");
        var rules = doc.RootElement.GetProperty("findingCounts").EnumerateObject().Select(p => p.Name).ToList();
        CollectionAssert.AreEquivalent(new[] { "leak-at-end", "map-failed" }, rules, "no unmap of a never-mapped handle, no error");
        Assert.AreEqual(predicted, doc.RootElement.GetProperty("findingCounts").GetProperty("map-failed").GetInt64());
    }
}
