using System.Numerics;
using System.Text;

namespace DmaReplay.Parsers.Ftrace;

/// <summary>
/// Formats tracefs <c>trace</c> lines into one reusable byte buffer and hands full buffers to a
/// stream or text writer, so output of any size costs the same memory and no allocation per line.
/// </summary>
/// <remarks>
/// The context part follows trace_print_context() with the irq-info option on (the default):
/// comm right-aligned in 16, '-', pid left-aligned in 7, " [%03d] ", the 5-character latency
/// flags, then the local clock as " %5lu.%06lu: ". Each event line must fit in
/// <see cref="MaxLineLength"/>; the longest synthetic line (a 32-entry dma_map_sg) is under 2 KiB.
/// </remarks>
internal sealed class FtraceLineWriter : IDisposable
{
    public const int MaxLineLength = 8192;
    private const int BufferSize = 1 << 20;

    private readonly Stream? _stream;
    private readonly TextWriter? _text;
    private readonly byte[] _buf = new byte[BufferSize];
    private char[]? _chars;
    private int _pos;

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    public FtraceLineWriter(Stream stream) => _stream = stream;
    public FtraceLineWriter(TextWriter text) => _text = text;

    public long Bytes { get; private set; }
    public long Lines { get; private set; }

    /// <summary>The tracefs header of print_trace_header()/print_func_help_header_irq() for the nop tracer.</summary>
    public void Header(long entries, int cpus)
    {
        Raw("# tracer: nop\n#\n# entries-in-buffer/entries-written: "u8);
        Dec((ulong)entries);
        Byte((byte)'/');
        Dec((ulong)entries);
        Raw("   #P:"u8);
        Dec((ulong)cpus);
        Raw("\n#\n"u8);
        Raw("#                                _-----=> irqs-off/BH-disabled\n"u8);
        Raw("#                               / _----=> need-resched\n"u8);
        Raw("#                              | / _---=> hardirq/softirq\n"u8);
        Raw("#                              || / _--=> preempt-depth\n"u8);
        Raw("#                              ||| / _-=> migrate-disable\n"u8);
        Raw("#                              |||| /     delay\n"u8);
        Raw("#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"u8);
        Raw("#              | |         |   |||||     |         |\n"u8);
        Lines += 12;
        FlushIfFull();
    }

    /// <summary>Starts an event line: context, timestamp and "name: ".</summary>
    /// <param name="taskPrefix">The pre-formatted "%16s-%-7d" column of the task (the synthesizer keeps one per task).</param>
    public void Begin(byte[] taskPrefix, int cpu, ReadOnlySpan<byte> flags, long timestampUs, ReadOnlySpan<byte> eventName)
    {
        Raw(taskPrefix);
        Raw(" ["u8);
        Padded((ulong)cpu, 3, (byte)'0');
        Raw("] "u8);
        Raw(flags);
        Byte((byte)' ');
        Padded((ulong)(timestampUs / 1_000_000), 5, (byte)' ');
        Byte((byte)'.');
        Padded((ulong)(timestampUs % 1_000_000), 6, (byte)'0');
        Raw(": "u8);
        Raw(eventName);
        Raw(": "u8);
    }

    /// <summary>Ends the current line and hands the buffer on when it is nearly full.</summary>
    public void End()
    {
        _buf[_pos++] = (byte)'\n';
        Lines++;
        FlushIfFull();
    }

    public void Raw(ReadOnlySpan<byte> s)
    {
        s.CopyTo(_buf.AsSpan(_pos));
        _pos += s.Length;
    }

    public void Byte(byte b) => _buf[_pos++] = b;

    /// <summary>%llx: lower-case hex without prefix or padding.</summary>
    public void Hex(ulong v)
    {
        int digits = v == 0 ? 1 : (67 - BitOperations.LeadingZeroCount(v)) >> 2;
        int end = _pos + digits;
        for (int i = end - 1; i >= _pos; i--)
        {
            _buf[i] = HexDigits[(int)(v & 0xf)];
            v >>= 4;
        }
        _pos = end;
    }

    /// <summary>"0x%llx" (an element of __print_array).</summary>
    public void Hex0x(ulong v)
    {
        Raw("0x"u8);
        Hex(v);
    }

    /// <summary>%016llx, as %p prints a hashed pointer on 64-bit.</summary>
    public void Hex16(ulong v)
    {
        for (int i = 15; i >= 0; i--)
        {
            _buf[_pos + i] = HexDigits[(int)(v & 0xf)];
            v >>= 4;
        }
        _pos += 16;
    }

    /// <summary>%lu / %zu / %d of a non-negative value.</summary>
    public void Dec(ulong v)
    {
        int digits = 1;
        for (ulong t = v; t >= 10; t /= 10) digits++;
        int end = _pos + digits;
        for (int i = end - 1; i >= _pos; i--)
        {
            _buf[i] = (byte)('0' + (int)(v % 10));
            v /= 10;
        }
        _pos = end;
    }

    /// <summary>%d of any value.</summary>
    public void Int(long v)
    {
        if (v < 0) Byte((byte)'-');
        Dec(v < 0 ? (ulong)(-(v + 1)) + 1 : (ulong)v);
    }

    /// <summary>Text right-aligned in <paramref name="width"/> columns (%16s).</summary>
    public void RightAligned(ReadOnlySpan<byte> s, int width)
    {
        for (int i = s.Length; i < width; i++) _buf[_pos++] = (byte)' ';
        Raw(s);
    }

    /// <summary>A number left-aligned in <paramref name="width"/> columns (%-7d).</summary>
    public void LeftAligned(ulong v, int width)
    {
        int start = _pos;
        Dec(v);
        while (_pos - start < width) _buf[_pos++] = (byte)' ';
    }

    /// <summary>
    /// Hands the buffer on when fewer than <paramref name="bytes"/> are free, even within a line:
    /// lines built from other formats have no length limit (an sg list of any length).
    /// </summary>
    public void EnsureRoom(int bytes)
    {
        if (_buf.Length - _pos >= bytes) return;
        Flush();
        if (bytes > _buf.Length) throw new ArgumentOutOfRangeException(nameof(bytes), "longer than the line buffer");
    }

    /// <summary>At least <paramref name="width"/> digits, padded on the left with <paramref name="pad"/>.</summary>
    public void Padded(ulong v, int width, byte pad)
    {
        int digits = 1;
        for (ulong t = v; t >= 10; t /= 10) digits++;
        for (int i = digits; i < width; i++) _buf[_pos++] = pad;
        Dec(v);
    }

    private void FlushIfFull()
    {
        if (_pos > _buf.Length - MaxLineLength) Flush();
    }

    public void Flush()
    {
        if (_pos == 0) return;
        if (_stream is not null)
        {
            _stream.Write(_buf, 0, _pos);
        }
        else
        {
            _chars ??= new char[BufferSize];
            int n = Encoding.ASCII.GetChars(_buf, 0, _pos, _chars, 0);
            _text!.Write(_chars, 0, n);
        }
        Bytes += _pos;
        _pos = 0;
    }

    public void Dispose()
    {
        Flush();
        if (_stream is not null) _stream.Flush();
        else _text!.Flush();
    }
}
