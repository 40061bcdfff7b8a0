using System.Globalization;
using CsvHelper;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Synthetic;

namespace DmaReplay.Parsers.Csv;

/// <summary>
/// Writes events as CSV rows of <see cref="EventSchema"/> (docs/synthetic-format.md): a
/// "#dmareplay-events v1" comment, the header, then one row per event. Fields the event's kind
/// prints are always written; any other field only when it is not its default, so rows stay
/// short and every value still survives a round trip.
/// </summary>
/// <remarks>
/// Text cells go through CsvHelper's formula-injection guard as the report exporter's do
/// (<see cref="CsvInjection.Escape"/>: a ' before text starting with = + - @ tab or CR). So that
/// <see cref="CsvEventReader"/> can undo the guard exactly, a text that itself starts with ' gets
/// a second one here: a leading ' is then always the guard's, and the reader drops one.
/// Names are copied from their interned UTF-8 bytes and numbers formatted into CsvHelper's buffer:
/// nothing is allocated per event.
/// </remarks>
public sealed class CsvEventWriter : Input.ITraceEventWriter
{
    internal static CsvWriterOptions Options { get; } = CsvWriterOptions.Default with
    {
        NewLine = "\n",
        FormatProvider = CultureInfo.InvariantCulture,
        Injection = CsvInjection.Escape,
        CommentPrefix = '#',
        BufferSize = 1 << 18,
    };

    private static readonly byte[][] KindNames = Enumerable.Range(0, DmaEventKinds.Count)
        .Select(k => System.Text.Encoding.ASCII.GetBytes(((DmaEventKind)k).Name())).ToArray();

    private readonly CsvWriter _csv;
    private readonly CountingStream _out;
    private readonly TraceStrings _strings;
    private byte[] _scratch = new byte[4096];

    public CsvEventWriter(Stream stream, TraceStrings strings)
    {
        _strings = strings;
        _out = new CountingStream(stream);
        _csv = CsvWriter.Create(_out, Options, leaveOpen: true);
        _csv.WriteComment(EventSchema.CsvMagic[1..] + " v" + EventSchema.Version.ToString(CultureInfo.InvariantCulture));
        _csv.WriteHeader(EventSchema.Names);
    }

    public long Events { get; private set; }

    /// <summary>Bytes handed to the stream so far (all of them after <see cref="Dispose"/>).</summary>
    public long Bytes => _out.Written;

    public void OnEvent(DmaEvent e) => Write(e);

    public void Write(DmaEvent e)
    {
        var k = e.Kind;
        var w = _csv;
        w.WriteField(KindNames[(int)k]);
        w.WriteField(e.TimestampNs);
        w.WriteField(e.Cpu);
        w.WriteField(e.Pid);
        if (e.Tgid >= 0) w.WriteField(e.Tgid); else Empty();
        Text(e.Task >= 0 ? _strings.Tasks.Utf8(e.Task) : default);
        w.WriteField(_scratch.AsSpan(0, EventText.LatencyFlags(e.Flags, e.PreemptDepth, e.MigrateDisable, _scratch)));
        Text(e.Device >= 0 ? _strings.Devices.Utf8(e.Device) : default);
        w.WriteField(_scratch.AsSpan(0, EventText.Direction(e.Direction, e.RawDirection, _scratch)));
        Hex(k, EventColumn.DmaAddr, e.DmaAddr);
        Hex(k, EventColumn.PhysAddr, e.PhysAddr);
        Dec(k, EventColumn.Size, e.Size);
        Hex(k, EventColumn.VirtAddr, e.VirtAddr);
        TextId(e.GfpText);
        w.WriteField(_scratch.AsSpan(0, EventText.Attrs(e.Attrs, _scratch)));
        if (e.Error != 0 || EventSchema.IsPrinted(k, EventColumn.Error)) w.WriteField(e.Error); else Empty();
        Dec(k, EventColumn.Nents, (ulong)e.Nents);
        Dec(k, EventColumn.Ents, (ulong)e.Ents);
        Dec(k, EventColumn.Truncated, e.Truncated ? 1UL : 0);
        List(e.PhysAddrs, hex: true);
        List(e.DmaAddrs, hex: true);
        List(e.Lengths, hex: false);
        Hex(k, EventColumn.DmaMask, e.DmaMask);
        if (e.BounceReason != SwiotlbBounceReason.Normal || EventSchema.IsPrinted(k, EventColumn.Bounce))
            w.WriteField(EventText.BounceReason(e.BounceReason));
        else Empty();
        Dec(k, EventColumn.UnmappedSize, e.UnmappedSize);
        if (e.GroupId >= 0) w.WriteField(e.GroupId); else Empty();
        if (e.FaultFlags != 0 || EventSchema.IsPrinted(k, EventColumn.FaultFlags)) w.WriteField(e.FaultFlags); else Empty();
        TextId(e.Driver);
        TextId(e.Timeline);
        Dec(k, EventColumn.Context, e.Context);
        Dec(k, EventColumn.Seqno, e.Seqno);
        TextId(e.Pool);
        Dec(k, EventColumn.Align, e.Align);
        Dec(k, EventColumn.Boundary, e.Boundary);
        Dec(k, EventColumn.Managed, e.Managed ? 1UL : 0);
        Stack(e.KernelStack);
        Stack(e.UserStack);
        w.EndRecord();
        Events++;
    }

    private void Empty() => _csv.WriteField(ReadOnlySpan<byte>.Empty);

    private void Hex(DmaEventKind k, EventColumn c, ulong v)
    {
        if (v != 0 || EventSchema.IsPrinted(k, c)) _csv.WriteField(v, "x");
        else Empty();
    }

    private void Dec(DmaEventKind k, EventColumn c, ulong v)
    {
        if (v != 0 || EventSchema.IsPrinted(k, c)) _csv.WriteField(v);
        else Empty();
    }

    private void TextId(int id) => Text(id >= 0 ? _strings.Text.Utf8(id) : default);

    /// <summary>A text cell; see the remarks for the leading quote.</summary>
    private void Text(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty || s[0] != '\'')
        {
            _csv.WriteField(s);
            return;
        }
        var buf = Scratch(s.Length + 1);
        s.CopyTo(buf.AsSpan(1)); // s may lie in the scratch array itself: moved first, then the quote
        buf[0] = (byte)'\'';
        _csv.WriteField(buf.AsSpan(0, s.Length + 1));
    }

    private void Stack(int id)
    {
        if (id < 0)
        {
            Empty();
            return;
        }
        var buf = Scratch(EventText.StackLength(_strings, id));
        Text(buf.AsSpan(0, EventText.Stack(_strings, id, buf)));
    }

    /// <summary>Values separated by single spaces: addresses in hex, lengths in decimal.</summary>
    private void List(ReadOnlySpan<ulong> values, bool hex)
    {
        var buf = Scratch(values.Length * 21);
        int n = 0;
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0) buf[n++] = (byte)' ';
            values[i].TryFormat(buf.AsSpan(n), out int written, hex ? "x" : default, CultureInfo.InvariantCulture);
            n += written;
        }
        _csv.WriteField(buf.AsSpan(0, n));
    }

    private byte[] Scratch(int length)
    {
        if (_scratch.Length < length) _scratch = new byte[Math.Max(length, _scratch.Length * 2)];
        return _scratch;
    }

    public void Dispose() => _csv.Dispose();
}

/// <summary>Counts the bytes written through it.</summary>
internal sealed class CountingStream(Stream inner) : Stream
{
    public long Written { get; private set; }
    public override void Write(byte[] buffer, int offset, int count) { inner.Write(buffer, offset, count); Written += count; }
    public override void Write(ReadOnlySpan<byte> buffer) { inner.Write(buffer); Written += buffer.Length; }
    public override void Flush() => inner.Flush();
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => Written; set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
