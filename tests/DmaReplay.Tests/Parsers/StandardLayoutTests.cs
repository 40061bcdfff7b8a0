using DmaReplay.Parsers.Model;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Parsers;

/// <summary>
/// The reader reads tracefs' own column layout at fixed columns (with task ids cached per pid)
/// and everything else with the general context parser. Lines at the edge of that layout must
/// read as the general parser reads them.
/// </summary>
[TestClass]
public sealed class StandardLayoutTests
{
    private const string Body = "dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=64 attrs=";

    [TestMethod]
    public void EdgesOfTheFixedLayoutReadAsTheGeneralParserReadsThem()
    {
        string[] lines =
        [
            "     kworker/0:1-12      [003] d.h1.     5.000001: " + Body,        // the fixed layout
            "         renamed-12      [003] .....     5.000002: " + Body,        // same pid, new comm
            "         renamed-12      [003] .....  123456.000003: " + Body,      // seconds wider than 5 columns
            "         renamed-12      [003] d.h1     5.000004: " + Body,         // four flag columns
            "         renamed-12      [1234] .....     5.000005: " + Body,       // a 4-digit CPU
            "         renamed-12      [003]     5.000000006: " + Body,           // no flags, nanoseconds
            "   x-5 [007] y-12      [003] .....     5.000007: " + Body,          // a CPU field inside the comm column
        ];
        var h = TraceHarness.ReadText(string.Join("\n", lines) + "\n");
        h.AssertAccounted();
        Assert.AreEqual(1L, h.Stats.Malformed, "the general parser takes the first '[ddd] ' and then finds no flags");
        var e = h.Events;
        Assert.HasCount(6, e);
        Assert.AreEqual("kworker/0:1", h.Task(e[0]));
        Assert.AreEqual((12, 3, 5_000_001_000L), (e[0].Pid, e[0].Cpu, e[0].TimestampNs));
        Assert.AreEqual(TraceContextFlags.IrqsOff | TraceContextFlags.HardIrq, e[0].Flags);
        Assert.AreEqual((byte)1, e[0].PreemptDepth);
        Assert.IsTrue(e.Skip(1).All(x => h.Task(x) == "renamed" && x.Pid == 12));
        Assert.AreEqual(123_456_000_003_000L, e[2].TimestampNs);
        Assert.AreEqual((TraceContextFlags.IrqsOff | TraceContextFlags.HardIrq, 5_000_004_000L), (e[3].Flags, e[3].TimestampNs));
        Assert.AreEqual((1234, 5_000_005_000L), (e[4].Cpu, e[4].TimestampNs));
        Assert.AreEqual((TraceContextFlags.NoFlagColumn, 5_000_000_006L), (e[5].Flags, e[5].TimestampNs));
    }

    [TestMethod]
    public void DeviceNamesAroundTheCachedLengthKeepTheirIds()
    {
        // Names of up to 15 bytes are cached by their first 16 bytes; longer ones are interned directly.
        string[] devices = ["d", "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmn", "abcdefghijklmnopq", "abcdefghijklmno", "d"];
        var text = string.Concat(devices.Select((d, i) =>
            TraceHarness.Line("t", 1, 0, ".....", $"1.{i:000000}", "dma_unmap_page", $"{d} dir=TO_DEVICE dma_addr=1000 size=64 attrs=") + "\n"));
        var h = TraceHarness.ReadText(text);
        Assert.AreEqual(0L, h.Stats.Malformed, string.Join("\n", h.Stats.Diagnostics));
        CollectionAssert.AreEqual(devices, h.Events.Select(h.Device).ToArray());
        Assert.AreEqual(5, h.Strings.Devices.Count);
    }
}
