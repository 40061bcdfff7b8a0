using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Text;

namespace DmaReplay.Parsers.Synthetic;

/// <summary>
/// The printed forms the event formats share, each with its exact inverse: the latency flag
/// column, the direction, the swiotlb bounce reason, dma attrs and kernel stacks. Formatting
/// writes bytes into a caller's span, parsing reads spans: neither allocates.
/// </summary>
internal static class EventText
{
    /// <summary>Bytes the latency column takes (<see cref="LatencyFlags"/>).</summary>
    public const int LatencyLength = 5;

    // The inverse of the reader's tables: for each flag combination a column can hold, its character.
    private static readonly (TraceContextFlags Bits, byte Char)[][] LatencyColumns = BuildLatencyColumns();

    private static (TraceContextFlags, byte)[][] BuildLatencyColumns()
    {
        var columns = new (TraceContextFlags, byte)[3][];
        for (int col = 0; col < 3; col++)
        {
            var list = new List<(TraceContextFlags, byte)>();
            for (int c = 33; c < 127; c++)
            {
                Span<byte> probe = [(byte)'.', (byte)'.', (byte)'.', (byte)'.', (byte)'.'];
                probe[col] = (byte)c;
                if (c != '.' && FtraceTextReader.TryParseLatencyFlags(probe, out var f, out _, out _)) list.Add((f, (byte)c));
            }
            columns[col] = list.ToArray();
        }
        return columns;
    }

    private static readonly TraceContextFlags[] ColumnMasks =
    [
        TraceContextFlags.IrqsOff | TraceContextFlags.BhOff | TraceContextFlags.IrqStateUnsupported,
        TraceContextFlags.NeedResched | TraceContextFlags.PreemptNeedResched | TraceContextFlags.NeedReschedLazy,
        TraceContextFlags.HardIrq | TraceContextFlags.SoftIrq | TraceContextFlags.Nmi,
    ];

    /// <summary>
    /// The latency column as trace_print_lat_fmt prints it ("d.h1."): irq, need-resched and
    /// context characters, then preempt depth and migrate-disable as hex digits ('.' for 0).
    /// Returns 0 (nothing written) for an event whose line had no flag column.
    /// </summary>
    public static int LatencyFlags(TraceContextFlags flags, byte preempt, byte migrate, Span<byte> dest)
    {
        if ((flags & TraceContextFlags.NoFlagColumn) != 0) return 0;
        for (int col = 0; col < 3; col++)
        {
            var bits = flags & ColumnMasks[col];
            byte ch = (byte)'.';
            foreach (var (b, c) in LatencyColumns[col])
            {
                if (b == bits) { ch = c; break; }
            }
            dest[col] = ch;
        }
        dest[3] = Nibble(preempt);
        dest[4] = Nibble(migrate);
        return LatencyLength;
    }

    private static byte Nibble(byte v) => v == 0 ? (byte)'.' : (byte)"0123456789abcdef"[v & 0xf];

    /// <summary>The inverse of <see cref="LatencyFlags"/>; an empty text is "no flag column".</summary>
    public static bool TryParseLatencyFlags(ReadOnlySpan<byte> text, out TraceContextFlags flags, out byte preempt, out byte migrate)
    {
        if (text.IsEmpty)
        {
            flags = TraceContextFlags.NoFlagColumn;
            preempt = migrate = 0;
            return true;
        }
        return FtraceTextReader.TryParseLatencyFlags(text, out flags, out preempt, out migrate);
    }

    /// <summary>True when the event has no direction field (not "dir=NONE", which has raw value 3).</summary>
    public static bool HasNoDirection(DmaDirection dir, uint raw) => dir == DmaDirection.None && raw == 0;

    /// <summary>The direction as dma.h prints it, or "0x…" of the raw value when the kernel's table has no name for it.</summary>
    public static int Direction(DmaDirection dir, uint raw, Span<byte> dest)
    {
        if (HasNoDirection(dir, raw)) return 0;
        ReadOnlySpan<byte> name = dir switch
        {
            DmaDirection.Bidirectional => "BIDIRECTIONAL"u8,
            DmaDirection.ToDevice => "TO_DEVICE"u8,
            DmaDirection.FromDevice => "FROM_DEVICE"u8,
            DmaDirection.None => "NONE"u8,
            _ => default,
        };
        if (!name.IsEmpty)
        {
            name.CopyTo(dest);
            return name.Length;
        }
        "0x"u8.CopyTo(dest);
        raw.TryFormat(dest[2..], out int n, "x");
        return n + 2;
    }

    /// <summary>The inverse of <see cref="Direction"/>.</summary>
    public static bool TryParseDirection(ReadOnlySpan<byte> text, out DmaDirection dir, out uint raw)
    {
        dir = DmaDirection.None;
        raw = 0;
        if (text.IsEmpty) return true;
        if (text.SequenceEqual("BIDIRECTIONAL"u8)) { dir = DmaDirection.Bidirectional; return true; }
        if (text.SequenceEqual("TO_DEVICE"u8)) { dir = DmaDirection.ToDevice; raw = 1; return true; }
        if (text.SequenceEqual("FROM_DEVICE"u8)) { dir = DmaDirection.FromDevice; raw = 2; return true; }
        if (text.SequenceEqual("NONE"u8)) { raw = 3; return true; }
        if (!Utf8Number.TryParseAuto(text, out ulong v) || v > uint.MaxValue) return false;
        raw = (uint)v;
        dir = v <= 3 ? (DmaDirection)v : DmaDirection.Unknown;
        return true;
    }

    /// <summary>Direction from the raw value alone (the Parquet column): -1 for no direction field.</summary>
    public static int RawDirection(DmaDirection dir, uint raw) => HasNoDirection(dir, raw) ? -1 : (int)raw;

    public static void FromRawDirection(int value, out DmaDirection dir, out uint raw)
    {
        raw = value < 0 ? 0 : (uint)value;
        dir = value < 0 ? DmaDirection.None : raw <= 3 ? (DmaDirection)raw : DmaDirection.Unknown;
    }

    public static ReadOnlySpan<byte> BounceReason(SwiotlbBounceReason r) => r switch
    {
        SwiotlbBounceReason.Force => "FORCE"u8,
        SwiotlbBounceReason.NoForce => "NO_FORCE"u8,
        _ => "NORMAL"u8,
    };

    public static bool TryParseBounceReason(ReadOnlySpan<byte> text, out SwiotlbBounceReason r)
    {
        r = SwiotlbBounceReason.Normal;
        if (text.IsEmpty || text.SequenceEqual("NORMAL"u8)) return true;
        if (text.SequenceEqual("FORCE"u8)) { r = SwiotlbBounceReason.Force; return true; }
        if (text.SequenceEqual("NO_FORCE"u8)) { r = SwiotlbBounceReason.NoForce; return true; }
        return false;
    }

    private static readonly byte[][] AttrNames = Array.ConvertAll(DmaAttrNames.Table, t => System.Text.Encoding.ASCII.GetBytes(t.Name));

    /// <summary>
    /// dma attrs as dma.h's __print_flags prints them (<see cref="DmaAttrNames.Format"/>, without
    /// its allocations): names joined by '|', bits without a name as 0x…, nothing for none.
    /// </summary>
    public static int Attrs(DmaAttrs attrs, Span<byte> dest)
    {
        int n = 0;
        ulong rest = (ulong)attrs;
        for (int i = 0; i < AttrNames.Length && rest != 0; i++)
        {
            ulong bit = (ulong)DmaAttrNames.Table[i].Bit;
            if ((rest & bit) == 0) continue;
            if (n > 0) dest[n++] = (byte)'|';
            AttrNames[i].CopyTo(dest[n..]);
            n += AttrNames[i].Length;
            rest &= ~bit;
        }
        if (rest != 0)
        {
            if (n > 0) dest[n++] = (byte)'|';
            "0x"u8.CopyTo(dest[n..]);
            rest.TryFormat(dest[(n + 2)..], out int w, "x");
            n += 2 + w;
        }
        return n;
    }

    /// <summary>The inverse of <see cref="Attrs"/>: the reader's own parse of the attrs field.</summary>
    public static DmaAttrs ParseAttrs(ReadOnlySpan<byte> text) => BodyCursor.ParseAttrs(text);

    /// <summary>Bytes <see cref="Attrs"/> may need at most.</summary>
    public const int MaxAttrsLength = 256;

    /// <summary>A stack's frames, innermost first, joined by '\n' (a frame is one line of the trace, so it holds none).</summary>
    public static int StackLength(TraceStrings strings, int stack)
    {
        var frames = strings.Stacks[stack];
        int n = Math.Max(frames.Length - 1, 0);
        foreach (int f in frames) n += strings.Functions.Utf8(f).Length;
        return n;
    }

    public static int Stack(TraceStrings strings, int stack, Span<byte> dest)
    {
        int n = 0;
        var frames = strings.Stacks[stack];
        for (int i = 0; i < frames.Length; i++)
        {
            if (i > 0) dest[n++] = (byte)'\n';
            var f = strings.Functions.Utf8(frames[i]);
            f.CopyTo(dest[n..]);
            n += f.Length;
        }
        return n;
    }

    /// <summary>The inverse of <see cref="Stack"/>: interns the frames and the stack; -1 for an empty text.</summary>
    public static int InternStack(TraceStrings strings, ReadOnlySpan<byte> text, ref int[] scratch)
    {
        if (text.IsEmpty) return -1;
        int count = 0;
        while (true)
        {
            int nl = text.IndexOf((byte)'\n');
            var frame = nl < 0 ? text : text[..nl];
            if (count == scratch.Length) Array.Resize(ref scratch, scratch.Length * 2);
            scratch[count++] = strings.Functions.Intern(frame);
            if (nl < 0) break;
            text = text[(nl + 1)..];
        }
        return strings.Stacks.Intern(scratch, count);
    }
}
