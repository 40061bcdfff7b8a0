using System.Text;
using CsCheck;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Parsers;

/// <summary>
/// Property tests: events printed the way the kernel's TP_printk formats print them parse back to
/// the same values; the result does not depend on how the stream chunks its bytes; arbitrary
/// damage never throws and every line stays accounted for.
/// </summary>
[TestClass]
public sealed class FtraceReaderPropertyTests
{
    private sealed record Ev(string Comm, int Pid, int Cpu, long Ns, string Dev, int Kind, int Dir, ulong Addr, ulong Phys, uint Size, int Attrs, ulong[] Sg);

    private static readonly string[] Devices = ["0000:00:02.0", "0000:3b:00.1", "fe300000.dma-controller", "virtio0"];
    private static readonly string[] Dirs = ["BIDIRECTIONAL", "TO_DEVICE", "FROM_DEVICE", "NONE"];

    private static readonly Gen<string> GenComm = Gen.OneOf(
        Gen.Const("kworker/u8:0"), Gen.Const("<idle>"), Gen.Const("a-b-c"), Gen.Const("my app [x]"),
        Gen.String[Gen.Char["abcxyz09-_/: "], 1, 15].Where(s => s.Trim().Length > 0 && s[0] != ' ' && !s.EndsWith(' ')));

    private static readonly Gen<Ev> GenEvent =
        from comm in GenComm
        from pid in Gen.Int[0, 4_194_304]
        from cpu in Gen.Int[0, 511]
        from ns in Gen.Long[0, 99_999_999_999_000]
        from dev in Gen.Int[0, Devices.Length - 1].Select(i => Devices[i])
        from kind in Gen.Int[0, 3]
        from dir in Gen.Int[0, 3]
        from addr in Gen.ULong
        from phys in Gen.ULong
        from size in Gen.UInt
        from attrs in Gen.Int[0, 1023]
        from sg in Gen.ULong.Array[1, 40]
        select new Ev(comm, pid, cpu, ns / 1000 * 1000, dev, kind, dir, addr, phys, size, attrs & ~0b1001, sg);

    private static string Format(Ev e)
    {
        string attrs = DmaAttrNames.Format((DmaAttrs)(ulong)e.Attrs);
        string dir = Dirs[e.Dir];
        string arr(IEnumerable<ulong> xs) => "{" + string.Join(",", xs.Select(x => "0x" + x.ToString("x"))) + "}";
        string body = e.Kind switch
        {
            0 => $"dma_map_page: {e.Dev} dir={dir} dma_addr={e.Addr:x} size={e.Size} phys_addr={e.Phys:x} attrs={attrs}",
            1 => $"dma_unmap_page: {e.Dev} dir={dir} dma_addr={e.Addr:x} size={e.Size} attrs={attrs}",
            2 => $"dma_map_sg: {e.Dev} dir={dir} nents={e.Sg.Length}/{e.Sg.Length} ents={e.Sg.Length}/{e.Sg.Length} dma_addrs={arr(e.Sg)} sizes={arr(e.Sg.Select(x => x & 0xffffffff))} phys_addrs={arr(e.Sg.Reverse())} attrs={attrs}",
            _ => $"dma_unmap_sg: {e.Dev} dir={dir} phys_addrs={arr(e.Sg)} attrs={attrs}",
        };
        return $"{e.Comm,16}-{e.Pid,-7} [{e.Cpu:000}] d.s2. {e.Ns / 1_000_000_000,5}.{e.Ns / 1000 % 1_000_000:000000}: {body}";
    }

    [TestMethod]
    public void PrintedEventsParseBackToTheSameValues()
    {
        GenEvent.Array[1, 30].Sample(evs =>
        {
            var h = TraceHarness.ReadText(string.Join("\n", evs.Select(Format)) + "\n");
            Assert.AreEqual(0L, h.Stats.Malformed, string.Join("\n", h.Stats.Diagnostics));
            Assert.HasCount(evs.Length, h.Events);
            for (int i = 0; i < evs.Length; i++)
            {
                var (x, y) = (evs[i], h.Events[i]);
                Assert.AreEqual(x.Comm, h.Task(y));
                Assert.AreEqual(x.Pid, y.Pid);
                Assert.AreEqual(x.Cpu, y.Cpu);
                Assert.AreEqual(x.Ns, y.TimestampNs);
                Assert.AreEqual(x.Dev, h.Device(y));
                Assert.AreEqual((DmaDirection)x.Dir, y.Direction);
                Assert.AreEqual((DmaAttrs)(ulong)x.Attrs, y.Attrs);
                Assert.AreEqual(TraceContextFlags.IrqsOff | TraceContextFlags.SoftIrq, y.Flags);
                Assert.AreEqual((byte)2, y.PreemptDepth);
                switch (x.Kind)
                {
                    case 0:
                        Assert.AreEqual(x.Addr, y.DmaAddr);
                        Assert.AreEqual(x.Phys, y.PhysAddr);
                        Assert.AreEqual((ulong)x.Size, y.Size);
                        break;
                    case 1:
                        Assert.AreEqual(x.Addr, y.DmaAddr);
                        break;
                    case 2:
                        CollectionAssert.AreEqual(x.Sg, y.DmaAddrs);
                        CollectionAssert.AreEqual(x.Sg.Reverse().ToArray(), y.PhysAddrs);
                        CollectionAssert.AreEqual(x.Sg.Select(v => v & 0xffffffff).ToArray(), y.Lengths);
                        Assert.AreEqual(x.Sg.Length, y.Nents);
                        break;
                    default:
                        CollectionAssert.AreEqual(x.Sg, y.PhysAddrs);
                        break;
                }
            }
        }, iter: 300);
    }

    /// <summary>A stream that hands out its bytes in chunks of chosen sizes, as pipes and decompressors do.</summary>
    private sealed class ChunkedStream(byte[] data, int[] chunks) : Stream
    {
        private int _pos, _chunk;
        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = Math.Min(Math.Min(count, chunks[_chunk++ % chunks.Length]), data.Length - _pos);
            Array.Copy(data, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _pos; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long o, SeekOrigin s) => throw new NotSupportedException();
        public override void SetLength(long v) => throw new NotSupportedException();
        public override void Write(byte[] b, int o, int c) => throw new NotSupportedException();
    }

    [TestMethod]
    public void TheResultDoesNotDependOnHowTheBytesArrive()
    {
        var bytes = File.ReadAllBytes(TestPaths.Traces("edge", "all-events.trace"))
            .Concat(File.ReadAllBytes(TestPaths.Traces("edge", "pipe-tgid-crlf.trace"))).ToArray();
        var whole = TraceHarness.ReadBytes(bytes);
        Gen.Int[1, 700].Array[1, 8].Sample(chunks =>
        {
            var h = new TraceHarness();
            var stats = new FtraceTextReader(h.Strings, h).Read(new ChunkedStream(bytes, chunks), "chunked", 0);
            Assert.AreEqual(whole.Stats.Lines, stats.Lines);
            Assert.AreEqual(whole.Stats.Malformed, stats.Malformed);
            Assert.HasCount(whole.Events.Count, h.Events);
            for (int i = 0; i < h.Events.Count; i++)
            {
                Assert.AreEqual(whole.Events[i].Position, h.Events[i].Position);
                Assert.AreEqual(whole.Events[i].DmaAddr, h.Events[i].DmaAddr);
                CollectionAssert.AreEqual(whole.Events[i].PhysAddrs, h.Events[i].PhysAddrs);
            }
        }, iter: 100);
    }

    [TestMethod]
    public void DamagedInputNeverThrowsAndEveryLineIsAccountedFor()
    {
        var original = File.ReadAllBytes(TestPaths.Traces("edge", "all-events.trace"));
        var gen = from n in Gen.Int[1, 40]
                  from positions in Gen.Int[0, original.Length - 1].Array[n]
                  from values in Gen.Byte.Array[n]
                  select (positions, values);
        gen.Sample(damage =>
        {
            var bytes = (byte[])original.Clone();
            for (int i = 0; i < damage.positions.Length; i++) bytes[damage.positions[i]] = damage.values[i];
            var h = TraceHarness.ReadBytes(bytes);
            h.AssertAccounted();
            Assert.IsTrue(h.Stats.Diagnostics.All(d => d.Line >= 1 && d.Line <= h.Stats.Lines));
        }, iter: 500);
    }

    [TestMethod]
    public void HexAndDecimalParsingMatchTheBaseLibrary()
    {
        Gen.ULong.Sample(v =>
        {
            Assert.IsTrue(global::DmaReplay.Parsers.Text.Utf8Number.TryParseHex(Encoding.ASCII.GetBytes(v.ToString("x")), out var h));
            Assert.AreEqual(v, h);
            Assert.IsTrue(global::DmaReplay.Parsers.Text.Utf8Number.TryParseHex(Encoding.ASCII.GetBytes("0x" + v.ToString("X16")), out h));
            Assert.AreEqual(v, h);
            Assert.IsTrue(global::DmaReplay.Parsers.Text.Utf8Number.TryParseDecimal(Encoding.ASCII.GetBytes(v.ToString()), out var d));
            Assert.AreEqual(v, d);
        });
        Assert.IsFalse(global::DmaReplay.Parsers.Text.Utf8Number.TryParseDecimal("18446744073709551616"u8, out _));
        Assert.IsFalse(global::DmaReplay.Parsers.Text.Utf8Number.TryParseHex("10000000000000000"u8, out _));
    }
}
