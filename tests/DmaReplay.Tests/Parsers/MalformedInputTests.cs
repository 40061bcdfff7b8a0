using System.Text;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Parsers;

/// <summary>Bad input yields a diagnostic with its line number and reason; the rest still parses.</summary>
[TestClass]
public sealed class MalformedInputTests
{
    private const string Good = "dma_map_page: 0000:00:02.0 dir=FROM_DEVICE dma_addr=b50a000 size=4096 phys_addr=b50a000 attrs=";
    private static string Ctx(int i) => $"{"kworker/u8:0",16}-{12,-7} [000] ..... {i / 1000 + 2,5}.{i % 1000 * 1000:000000}: ";
    private static string GoodLine(int i) => Ctx(i) + Good;

    /// <summary>Good lines 1..n with <paramref name="bad"/> put in as line <paramref name="at"/>.</summary>
    private static TraceHarness WithBadLine(string bad, int at = 3, int n = 6)
    {
        var sb = new StringBuilder();
        for (int i = 1; i <= n; i++) sb.Append(i == at ? bad : GoodLine(i)).Append('\n');
        return TraceHarness.ReadText(sb.ToString());
    }

    private static void AssertOneDiagnostic(TraceHarness h, int line, string reasonPart, int events = 5)
    {
        h.AssertAccounted();
        Assert.AreEqual((long)events, h.Stats.Events, string.Join("\n", h.Stats.Diagnostics));
        Assert.AreEqual(1L, h.Stats.Malformed);
        var d = h.Stats.Diagnostics.Single();
        Assert.AreEqual((long)line, d.Line);
        StringAssert.Contains(d.Reason, reasonPart);
        Assert.AreEqual("test.trace", d.Input);
        Assert.IsTrue(h.Events.All(e => e.Position.Line != line));
    }

    [TestMethod]
    [DataRow("dma_addr=b5g0a000", "bad hex value for 'dma_addr='")]
    [DataRow("dma_addr=1b50a000b50a000b50a000", "bad hex value for 'dma_addr='")]
    [DataRow("size=40x96", "bad decimal value for 'size='")]
    [DataRow("size=99999999999999999999999", "bad decimal value for 'size='")]
    [DataRow("dir=SIDEWAYS", "unknown direction")]
    public void BadValues(string replacement, string reason)
    {
        string key = replacement[..(replacement.IndexOf('=') + 1)];
        string original = Good[Good.IndexOf(key, StringComparison.Ordinal)..].Split(' ')[0];
        AssertOneDiagnostic(WithBadLine(Ctx(3) + Good.Replace(original, replacement)), 3, reason);
    }

    [TestMethod]
    public void MissingField() =>
        AssertOneDiagnostic(WithBadLine(Ctx(3) + Good.Replace("size=4096 ", "")), 3, "expected 'size='");

    [TestMethod]
    public void ReorderedFields() =>
        AssertOneDiagnostic(WithBadLine(Ctx(3) + "dma_map_page: 0000:00:02.0 dir=FROM_DEVICE size=4096 dma_addr=b50a000 phys_addr=b50a000 attrs="), 3, "expected 'dma_addr='");

    [TestMethod]
    public void TrailingGarbage() =>
        AssertOneDiagnostic(WithBadLine(Ctx(3) + Good + "NO_WARN extra=1"), 3, "unexpected text after the last field");

    [TestMethod]
    public void NulBytesInALine() =>
        AssertOneDiagnostic(WithBadLine(Ctx(3) + Good.Replace("size=4096", "size=40\0\096")), 3, "size=");

    [TestMethod]
    public void NotAnEventLineAtAll() =>
        AssertOneDiagnostic(WithBadLine("this is not ftrace output"), 3, "not an ftrace event line");

    [TestMethod]
    public void MissingEventName() =>
        AssertOneDiagnostic(WithBadLine(Ctx(3) + "   "), 3, "no event name");

    [TestMethod]
    public void UnterminatedArray() =>
        AssertOneDiagnostic(WithBadLine(Ctx(3) + "dma_unmap_sg: 0000:00:02.0 dir=FROM_DEVICE phys_addrs={0xaf21000,0xaf04000 attrs="), 3, "phys_addrs");

    [TestMethod]
    public void ScatterGatherCountsThatDisagreeWithTheArrays() =>
        AssertOneDiagnostic(WithBadLine(Ctx(3) + "dma_map_sg: 0000:00:02.0 dir=FROM_DEVICE nents=3/3 ents=2/2 dma_addrs={0x1000,0x2000} sizes={0x1000,0x1000} phys_addrs={0x1000,0x2000} attrs="), 3, "nents=3");

    [TestMethod]
    public void AOneMegabyteLineIsReportedAndTheNextLinesKeepTheirNumbers()
    {
        var sb = new StringBuilder();
        sb.Append(GoodLine(1)).Append('\n');
        sb.Append(Ctx(2)).Append("dma_map_page: ").Append('x', FtraceTextReader.MaxLineLength + 10).Append('\n');
        for (int i = 3; i <= 6; i++) sb.Append(GoodLine(i)).Append('\n');
        var h = TraceHarness.ReadText(sb.ToString());
        AssertOneDiagnostic(h, 2, "line longer than");
        CollectionAssert.AreEqual(new long[] { 1, 3, 4, 5, 6 }, h.Events.Select(e => e.Position.Line).ToArray());
        Assert.AreEqual(6L, h.Stats.Lines);
    }

    [TestMethod]
    public void RandomBinaryGarbageBetweenGoodLines()
    {
        var rng = new Random(20261124);
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.ASCII.GetBytes(GoodLine(1) + "\n" + GoodLine(2) + "\n"));
        var garbage = new byte[4096];
        rng.NextBytes(garbage);
        bytes.AddRange(garbage);
        bytes.AddRange(Encoding.ASCII.GetBytes("\n" + GoodLine(3) + "\n" + GoodLine(4) + "\n"));
        var h = TraceHarness.ReadBytes(bytes.ToArray());
        h.AssertAccounted();
        Assert.AreEqual(4L, h.Stats.Events);
        long garbageLines = garbage.Count(b => b == '\n') + 1;
        Assert.AreEqual(4 + garbageLines, h.Stats.Lines);
        Assert.AreEqual(h.Stats.Lines - 4 - h.Stats.SkippedCount(SkipReason.Blank) - h.Stats.SkippedCount(SkipReason.StackTrace)
            - h.Stats.SkippedCount(SkipReason.Header), h.Stats.Malformed);
        Assert.IsTrue(h.Stats.Diagnostics.All(d => d.Line >= 3 && d.Line < 3 + garbageLines));
        Assert.AreEqual(4L, h.Events.Last().Position.Line - garbageLines);
    }

    [TestMethod]
    public void OnlyTheFirstHundredDiagnosticsAreKeptButAllAreCounted()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 250; i++) sb.Append("garbage ").Append(i).Append('\n');
        sb.Append(GoodLine(1)).Append('\n');
        var h = TraceHarness.ReadText(sb.ToString());
        h.AssertAccounted();
        Assert.AreEqual(250L, h.Stats.Malformed);
        Assert.HasCount(InputStatistics.MaxDiagnostics, h.Stats.Diagnostics);
        Assert.AreEqual(100L, h.Stats.Diagnostics[^1].Line);
        Assert.AreEqual(1L, h.Stats.Events);
    }

    [TestMethod]
    public void TruncatedLastLineIsFlaggedEvenWhenItsPrefixWouldParse()
    {
        var text = GoodLine(1) + "\n" + GoodLine(2)[..^20];
        var h = TraceHarness.ReadText(text);
        h.AssertAccounted();
        Assert.AreEqual(1L, h.Stats.Events);
        Assert.AreEqual(2L, h.Stats.Diagnostics.Single().Line);
        StringAssert.Contains(h.Stats.Diagnostics.Single().Reason, "truncated");
        Assert.AreEqual((long)(GoodLine(1).Length + 1), h.Stats.Diagnostics.Single().ByteOffset);
    }

    [TestMethod]
    public void EveryTruncationOfALineInTheMiddleIsSafe()
    {
        var line = Ctx(2) + "dma_map_sg: 0000:00:02.0 dir=FROM_DEVICE nents=2/2 ents=2/2 dma_addrs={0xaf21000,0xaf04000} sizes={0x1000,0x1000} phys_addrs={0xaf21000,0xaf04000} attrs=NO_WARN";
        for (int cut = 0; cut < line.Length; cut++)
        {
            var h = TraceHarness.ReadText(GoodLine(1) + "\n" + line[..cut] + "\n" + GoodLine(3) + "\n");
            h.AssertAccounted();
            Assert.AreEqual(3L, h.Stats.Lines);
            Assert.IsTrue(h.Events.Any(e => e.Position.Line == 1) && h.Events.Any(e => e.Position.Line == 3), $"cut at {cut}");
            Assert.IsTrue(h.Events.All(e => e.Position.Line != 2 || e.Kind == DmaEventKind.DmaMapSg), $"cut at {cut}");
        }
    }

    [TestMethod]
    public void ACutOrCorruptCompressedStreamIsReportedNotACrash()
    {
        var gz = new MemoryStream();
        using (var z = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            for (int i = 1; i <= 2000; i++) z.Write(Encoding.ASCII.GetBytes(GoodLine(i) + "\n"));
        }
        var whole = gz.ToArray();

        // Cut short: GZipStream ends early without an error, so the cut shows as a truncated last line.
        var cut = Read(whole[..(whole.Length / 2)]);
        Assert.AreEqual(cut.Lines, cut.AccountedLines);
        Assert.IsTrue(cut.Events > 0 && cut.Events < 2000);
        StringAssert.Contains(cut.Diagnostics.Single().Reason, "truncated");

        // Corrupt in the middle: the decompressor throws, which becomes the input's read error.
        var corrupt = (byte[])whole.Clone();
        for (int i = corrupt.Length / 2; i < corrupt.Length / 2 + 64; i++) corrupt[i] = 0xff;
        var bad = Read(corrupt);
        Assert.IsNotNull(bad.ReadError);
        StringAssert.Contains(bad.ReadError, "read failed after line");
        Assert.AreEqual(bad.Lines, bad.AccountedLines);
    }

    private static InputStatistics Read(byte[] gzip)
    {
        var h = new TraceHarness();
        var stream = global::DmaReplay.Parsers.Input.TraceInputStream.Decompress(new MemoryStream(gzip), "x.trace.gz");
        return new FtraceTextReader(h.Strings, h).Read(stream, "x.trace.gz", 0);
    }
}
