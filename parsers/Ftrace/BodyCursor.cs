using System.Runtime.CompilerServices;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Text;

namespace DmaReplay.Parsers.Ftrace;

/// <summary>
/// Walks an event body in the kernel's field order ("dev dir=X dma_addr=Y …"). Each step checks
/// the literal key it expects and decodes the value in place; the first mismatch records why
/// in <see cref="Failure"/> and every later step fails, so parse functions read as the format.
/// </summary>
internal ref struct BodyCursor
{
    private readonly ReadOnlySpan<byte> _s;
    private int _pos;

    public BodyCursor(ReadOnlySpan<byte> body) { _s = body; _pos = 0; Failure = null; }

    public string? Failure { get; private set; }
    public readonly bool Ok => Failure is null;
    public readonly bool AtEnd => _pos >= _s.Length;
    public readonly ReadOnlySpan<byte> Rest => _s[Math.Min(_pos, _s.Length)..];

    public bool Fail(string reason)
    {
        Failure ??= $"{reason} at column {_pos + 1}";
        return false;
    }

    /// <summary>Expects <paramref name="lit"/> here.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Lit(ReadOnlySpan<byte> lit, string what)
    {
        if (!Ok) return false;
        if (!_s[_pos..].StartsWith(lit)) return Fail("expected " + what);
        _pos += lit.Length;
        return true;
    }

    public bool TryLit(ReadOnlySpan<byte> lit)
    {
        if (!Ok || !_s[_pos..].StartsWith(lit)) return false;
        _pos += lit.Length;
        return true;
    }

    /// <summary>The value up to the next space (or the end); consumes one separating space.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Word()
    {
        var rest = _s[_pos..];
        int sp = rest.IndexOf((byte)' ');
        if (sp < 0)
        {
            _pos = _s.Length;
            return rest;
        }
        _pos += sp + 1;
        return rest[..sp];
    }

    /// <summary>Text up to (not including) <paramref name="delimiter"/>, which is consumed.</summary>
    public ReadOnlySpan<byte> Until(ReadOnlySpan<byte> delimiter, string what)
    {
        if (!Ok) return default;
        var rest = _s[_pos..];
        int i = rest.IndexOf(delimiter);
        if (i < 0) { Fail("expected " + what); return default; }
        _pos += i + delimiter.Length;
        return rest[..i];
    }

    public ulong Hex(ReadOnlySpan<byte> key, string what)
    {
        if (!Lit(key, what)) return 0;
        var w = Word();
        if (!Utf8Number.TryParseHex(w, out ulong v)) Fail("bad hex value for " + what);
        return v;
    }

    public ulong Dec(ReadOnlySpan<byte> key, string what)
    {
        if (!Lit(key, what)) return 0;
        var w = Word();
        if (!Utf8Number.TryParseDecimal(w, out ulong v)) Fail("bad decimal value for " + what);
        return v;
    }

    public int Int(ReadOnlySpan<byte> key, string what)
    {
        if (!Lit(key, what)) return 0;
        if (!Utf8Number.TryParseInt(Word(), out int v)) Fail("bad integer value for " + what);
        return v;
    }

    /// <summary>The device name: the first word of the body.</summary>
    public ReadOnlySpan<byte> Device()
    {
        var w = Word();
        if (w.IsEmpty) Fail("expected a device name");
        return w;
    }

    public DmaDirection Direction(out uint raw)
    {
        raw = 0;
        if (!Lit("dir="u8, "'dir='")) return DmaDirection.None;
        var w = Word();
        switch (w.Length)
        {
            case 13 when w.SequenceEqual("BIDIRECTIONAL"u8): return DmaDirection.Bidirectional;
            case 9 when w.SequenceEqual("TO_DEVICE"u8): raw = 1; return DmaDirection.ToDevice;
            case 11 when w.SequenceEqual("FROM_DEVICE"u8): raw = 2; return DmaDirection.FromDevice;
            case 4 when w.SequenceEqual("NONE"u8): raw = 3; return DmaDirection.None;
        }
        // __print_symbolic prints an unknown value as hex (6.12 dma_alloc's stale dir does this).
        if (Utf8Number.TryParseAuto(w, out ulong v) && v <= uint.MaxValue)
        {
            raw = (uint)v;
            return v <= 3 ? (DmaDirection)v : DmaDirection.Unknown;
        }
        Fail("unknown direction");
        return DmaDirection.Unknown;
    }

    /// <summary>"attrs=NAME|NAME|0x…" (empty for none), the last field of most dma events.</summary>
    public DmaAttrs Attrs()
    {
        if (!Lit("attrs="u8, "'attrs='")) return DmaAttrs.None;
        return ParseAttrs(Word());
    }

    public static DmaAttrs ParseAttrs(ReadOnlySpan<byte> text)
    {
        var result = DmaAttrs.None;
        while (!text.IsEmpty)
        {
            int bar = text.IndexOf((byte)'|');
            var name = bar < 0 ? text : text[..bar];
            text = bar < 0 ? default : text[(bar + 1)..];
            result |= AttrBit(name);
        }
        return result;
    }

    private static DmaAttrs AttrBit(ReadOnlySpan<byte> name)
    {
        switch (name.Length)
        {
            case 7 when name.SequenceEqual("NO_WARN"u8): return DmaAttrs.NoWarn;
            case 13 when name.SequenceEqual("SKIP_CPU_SYNC"u8): return DmaAttrs.SkipCpuSync;
        }
        foreach (var (n, bit) in DmaAttrNames.Table)
        {
            if (name.Length == n.Length && System.Text.Ascii.Equals(name, n)) return bit;
        }
        if (Utf8Number.TryParseHex(name, out ulong raw) && name.StartsWith("0x"u8)) return (DmaAttrs)raw;
        return DmaAttrs.Unrecognized;
    }

    /// <summary>"key={0x1,0x2}" — __print_array output, appended to one of the event's sg arrays.</summary>
    public int Array(ReadOnlySpan<byte> key, string what, DmaEvent e, SgArray which)
    {
        e.ClearArrays(which);
        if (!Lit(key, what)) return 0;
        if (!TryLit("{"u8)) { Fail("expected '{' after " + what); return 0; }
        int count = 0;
        if (TryLit("}"u8)) { SkipSpace(); return 0; }
        while (true)
        {
            var rest = _s[_pos..];
            int end = rest.IndexOfAny((byte)',', (byte)'}');
            if (end < 0) { Fail("unterminated array " + what); return count; }
            if (!Utf8Number.TryParseHex(rest[..end], out ulong v)) { Fail("bad array element in " + what); return count; }
            e.Append(which, v);
            count++;
            _pos += end + 1;
            if (rest[end] == '}') break;
        }
        SkipSpace();
        return count;
    }

    private void SkipSpace()
    {
        if (_pos < _s.Length && _s[_pos] == ' ') _pos++;
    }

    /// <summary>The body must be used up; trailing text means a format we do not know.</summary>
    public bool End()
    {
        if (!Ok) return false;
        return AtEnd || Fail("unexpected text after the last field");
    }
}
