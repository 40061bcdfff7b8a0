using System.Text;
using CsCheck;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Ftrace;

/// <summary>
/// Edge cases of hex, decimal and array fields. The reader decodes well-formed values in one
/// pass and falls back to the general word-then-parse path for anything else; these pin down
/// that both agree on values, accepted forms and diagnostics.
/// </summary>
[TestClass]
public sealed class NumberFieldTests
{
    private const string Context = "              dd-288     [000] .....     6.605259: ";

    private static (InputStatistics Stats, List<DmaEventRecord> Events) Parse(string body)
    {
        var events = new List<DmaEventRecord>();
        var bytes = Encoding.ASCII.GetBytes(Context + body + "\n");
        var stats = new FtraceTextReader(new TraceStrings(), new Collect(events)).Read(new MemoryStream(bytes), "t", 0);
        return (stats, events);
    }

    [TestMethod]
    [DataRow("b50a000", 0xb50a000UL)]
    [DataRow("0xb50a000", 0xb50a000UL)]
    [DataRow("0XB50A000", 0xb50a000UL)]
    [DataRow("B50a000", 0xb50a000UL)]
    [DataRow("0", 0UL)]
    [DataRow("0x0", 0UL)]
    [DataRow("ffffffffffffffff", ulong.MaxValue)]
    [DataRow("0xffffffffffffffff", ulong.MaxValue)]
    [DataRow("0000000000000001", 1UL)]
    public void Hex_values_parse(string text, ulong expected)
    {
        var (stats, events) = Parse($"dma_map_page: 0000:00:02.0 dir=FROM_DEVICE dma_addr={text} size=4096 phys_addr={text} attrs=");
        Assert.AreEqual(0, stats.Malformed, string.Join("\n", stats.Diagnostics));
        Assert.AreEqual(expected, events.Single().DmaAddr);
        Assert.AreEqual(expected, events.Single().PhysAddr);
    }

    [TestMethod]
    [DataRow("0x", "bad hex value for 'dma_addr='")]
    [DataRow("0xg1", "bad hex value for 'dma_addr='")]
    [DataRow("1ffffffffffffffff", "bad hex value for 'dma_addr='")]
    [DataRow("0x1ffffffffffffffff", "bad hex value for 'dma_addr='")]
    [DataRow("b50a000,", "bad hex value for 'dma_addr='")]
    [DataRow("", "bad hex value for 'dma_addr='")]
    [DataRow("0x0x1", "bad hex value for 'dma_addr='")]
    public void Bad_hex_values_are_diagnosed(string text, string reason)
    {
        var (stats, events) = Parse($"dma_unmap_page: 0000:00:02.0 dir=FROM_DEVICE dma_addr={text} size=4096 attrs=");
        Assert.AreEqual(1, stats.Malformed);
        Assert.AreEqual(0, events.Count);
        StringAssert.StartsWith(stats.Diagnostics[0].Reason, "dma_unmap_page: " + reason + " at column ");
    }

    [TestMethod]
    [DataRow("4096", 4096UL)]
    [DataRow("0", 0UL)]
    [DataRow("9999999999999999999", 9999999999999999999UL)]
    [DataRow("18446744073709551615", ulong.MaxValue)]
    [DataRow("00000000000000000000012", 12UL, true)]
    [DataRow("18446744073709551616", 0UL, true)]
    [DataRow("4096x", 0UL, true)]
    public void Decimal_sizes(string text, ulong expected, bool malformed = false)
    {
        var (stats, events) = Parse($"dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size={text} attrs=");
        if (malformed)
        {
            Assert.AreEqual(1, stats.Malformed);
            StringAssert.Contains(stats.Diagnostics[0].Reason, "bad decimal value for 'size='");
            return;
        }
        Assert.AreEqual(0, stats.Malformed, string.Join("\n", stats.Diagnostics));
        Assert.AreEqual(expected, events.Single().Size);
    }

    [TestMethod]
    public void Arrays_parse_and_bad_elements_are_diagnosed()
    {
        var (stats, events) = Parse("dma_unmap_sg: 0000:00:02.0 dir=FROM_DEVICE phys_addrs={0xaf21000,AF04000,0x0,0XFFFFFFFFFFFFFFFF} attrs=");
        Assert.AreEqual(0, stats.Malformed, string.Join("\n", stats.Diagnostics));
        CollectionAssert.AreEqual(new ulong[] { 0xaf21000, 0xaf04000, 0, ulong.MaxValue }, events.Single().PhysAddrs);

        (stats, events) = Parse("dma_unmap_sg: 0000:00:02.0 dir=FROM_DEVICE phys_addrs={} attrs=");
        Assert.AreEqual(0, stats.Malformed);
        Assert.AreEqual(0, events.Single().PhysAddrs.Length);

        foreach (var (array, reason) in new[]
                 {
                     ("{0xaf21000,0x}", "bad array element in 'phys_addrs='"),
                     ("{0xaf21000,}", "bad array element in 'phys_addrs='"),
                     ("{0xaf21000, 0x1}", "bad array element in 'phys_addrs='"),
                     ("{0x1ffffffffffffffff}", "bad array element in 'phys_addrs='"),
                     ("{0xaf21000,0xaf04000", "unterminated array 'phys_addrs='"),
                 })
        {
            (stats, events) = Parse($"dma_unmap_sg: 0000:00:02.0 dir=FROM_DEVICE phys_addrs={array} attrs=");
            Assert.AreEqual(1, stats.Malformed, array);
            StringAssert.StartsWith(stats.Diagnostics[0].Reason, "dma_unmap_sg: " + reason + " at column ", array);
        }
    }

    [TestMethod]
    [DataRow(".....", TraceContextFlags.None, 0, 0)]
    [DataRow("d.h1.", TraceContextFlags.IrqsOff | TraceContextFlags.HardIrq, 1, 0)]
    [DataRow("DNH2.", TraceContextFlags.IrqsOff | TraceContextFlags.BhOff | TraceContextFlags.NeedResched | TraceContextFlags.PreemptNeedResched | TraceContextFlags.HardIrq | TraceContextFlags.SoftIrq, 2, 0)]
    [DataRow("XBz.f", TraceContextFlags.IrqStateUnsupported | TraceContextFlags.NeedResched | TraceContextFlags.NeedReschedLazy | TraceContextFlags.PreemptNeedResched | TraceContextFlags.Nmi, 0, 15)]
    [DataRow("b.s3", TraceContextFlags.BhOff | TraceContextFlags.SoftIrq, 3, 0)]
    public void Latency_flags(string flags, TraceContextFlags expected, int preempt, int migrate)
    {
        var bytes = Encoding.ASCII.GetBytes($"              dd-288     [000] {flags}     6.605259: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=1 attrs=\n");
        var events = new List<DmaEventRecord>();
        var stats = new FtraceTextReader(new TraceStrings(), new Collect(events)).Read(new MemoryStream(bytes), "t", 0);
        Assert.AreEqual(0, stats.Malformed, string.Join("\n", stats.Diagnostics));
        var e = events.Single();
        Assert.AreEqual(expected, e.Flags);
        Assert.AreEqual(preempt, e.PreemptDepth);
        Assert.AreEqual(migrate, e.MigrateDisable);
    }

    [TestMethod]
    [DataRow("q....")]
    [DataRow(".q...")]
    [DataRow("..q..")]
    [DataRow("...g.")]
    [DataRow("......")]
    public void Bad_latency_flags_make_the_line_malformed(string flags)
    {
        var bytes = Encoding.ASCII.GetBytes($"              dd-288     [000] {flags}     6.605259: dma_unmap_page: 0000:00:02.0 dir=TO_DEVICE dma_addr=1000 size=1 attrs=\n");
        var stats = new FtraceTextReader(new TraceStrings(), new Collect([])).Read(new MemoryStream(bytes), "t", 0);
        Assert.AreEqual(1, stats.Malformed);
        Assert.AreEqual("not an ftrace event line", stats.Diagnostics[0].Reason);
    }

    /// <summary>
    /// Arrays of random tokens (well-formed hex of 1–18 digits with and without 0x, empty, "0x",
    /// stray letters, spaces), long enough to cross the 64-byte windows the delimiter search
    /// works in, cut short at random: the values and the diagnostic equal those of splitting at
    /// ',' and '}' and parsing each token with TryParseHex, the plain reading of __print_array.
    /// </summary>
    [TestMethod]
    public void Arrays_decode_as_split_and_parse()
    {
        var token = Gen.OneOf(
            Gen.String[Gen.Char["0123456789abcdefABCDEF"], 1, 18].Select(d => "0x" + d),
            Gen.String[Gen.Char["0123456789abcdef"], 1, 18],
            Gen.Const(""), Gen.Const("0x"), Gen.Const("0x0x1"), Gen.Const(" 0x1"), Gen.String[Gen.Char["0123456789abcdefgx- "], 0, 20]);
        var gen = from tokens in token.Array[0, 30] from cut in Gen.Int[0, 100] from tail in Gen.OneOf(Gen.Const("}"), Gen.Const(""), Gen.Const("} "))
                  select (tokens, cut, tail);
        gen.Sample(t =>
        {
            string inner = string.Join(",", t.tokens);
            string array = "{" + inner + t.tail;
            if (t.cut < 100) array = array[..(array.Length * t.cut / 100)];
            var (stats, events) = Parse($"dma_unmap_sg: 0000:00:02.0 dir=FROM_DEVICE phys_addrs={array} attrs=");
            var (values, failure) = Reference(array, "attrs=");
            if (failure is null && stats.Malformed == 0)
            {
                CollectionAssert.AreEqual(values, events.Single().PhysAddrs.ToArray(), array);
                return;
            }
            Assert.AreEqual(1L, stats.Malformed, array);
            if (failure is not null) StringAssert.StartsWith(stats.Diagnostics[0].Reason, "dma_unmap_sg: " + failure, array);
        }, iter: 3000);
    }

    /// <summary>The elements of "{a,b,...}" split at the first ',' or '}' each; null failure when the array reads.</summary>
    private static (ulong[] Values, string? Failure) Reference(string array, string after)
    {
        if (!array.StartsWith('{')) return ([], "expected '{' after 'phys_addrs='");
        var text = array[1..] + " " + after;
        if (text.StartsWith('}')) return ([], null);
        var values = new List<ulong>();
        int pos = 0;
        while (true)
        {
            int end = text.IndexOfAny([',', '}'], pos);
            if (end < 0) return (values.ToArray(), "unterminated array 'phys_addrs='");
            var tok = text[pos..end];
            if (!HexToken(tok, out ulong v)) return (values.ToArray(), "bad array element in 'phys_addrs='");
            values.Add(v);
            pos = end + 1;
            if (text[end] == '}') return (values.ToArray(), null);
        }
    }

    private static bool HexToken(string tok, out ulong value)
    {
        value = 0;
        if (tok.Length > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X')) tok = tok[2..];
        return tok.Length is >= 1 and <= 16 && tok.All(Uri.IsHexDigit)
            && ulong.TryParse(tok, System.Globalization.NumberStyles.AllowHexSpecifier, null, out value);
    }

    private sealed class Collect(List<DmaEventRecord> events) : ITraceEventHandler
    {
        public void OnEvent(DmaEvent e) => events.Add(e.ToRecord());
    }
}
