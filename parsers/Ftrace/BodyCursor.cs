using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
        if (TryHexWord(out ulong fast)) return fast;
        var w = Word();
        if (!Utf8Number.TryParseHex(w, out ulong v)) Fail("bad hex value for " + what);
        return v;
    }

    public ulong Dec(ReadOnlySpan<byte> key, string what)
    {
        if (!Lit(key, what)) return 0;
        if (TryDecimalWord(out ulong fast)) return fast;
        var w = Word();
        if (!Utf8Number.TryParseDecimal(w, out ulong v)) Fail("bad decimal value for " + what);
        return v;
    }

    // Fast paths: decode a well-formed value and find its end in one pass, instead of a span
    // search for the space followed by a second pass over the digits (per field, per event,
    // those short searches dominated the body parsers). They succeed only where Word() plus
    // Utf8Number would give the same value and position; anything else, errors included,
    // falls back to that slow path, so results and diagnostics are unchanged.

    /// <summary>[0x]1–16 hex digits, then a space (consumed) or the end: as Word() + TryParseHex.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryHexWord(out ulong value)
    {
        int i = ScanHex(_s, _pos, out value);
        if (i < 0) return false;
        if (i < _s.Length)
        {
            if (_s[i] != ' ') return false;
            i++;
        }
        _pos = i;
        return true;
    }

    /// <summary>1–19 decimal digits (no overflow possible), then a space (consumed) or the end: as Word() + TryParseDecimal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryDecimalWord(out ulong value)
    {
        value = 0;
        var s = _s; // a local: the loop then keeps the span in registers instead of re-reading this cursor
        int start = _pos, i = start;
        ulong v = 0;
        while (i < s.Length && i - start < 19)
        {
            uint d = (uint)(s[i] - '0');
            if (d > 9) break;
            v = v * 10 + d;
            i++;
        }
        if (i == start) return false;
        if (i < s.Length)
        {
            if (s[i] != ' ') return false;
            i++;
        }
        value = v;
        _pos = i;
        return true;
    }

    /// <summary>
    /// Hex digits at <paramref name="start"/> with an optional 0x/0X prefix; returns the index
    /// after the last digit, or -1 unless there are 1–16 digits. A prefix counts only when a
    /// digit follows, so whatever delimiter ends the token, TryParseHex of the token agrees.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ScanHex(ReadOnlySpan<byte> s, int start, out ulong value)
    {
        int i = start;
        if (i + 2 < s.Length && s[i] == '0' && (s[i + 1] | 0x20) == 'x') i += 2;
        return s.Length - i > Vector128<byte>.Count ? HexDigitsVector(s, i, out value) : HexDigitsScalar(s, i, out value);
    }

    /// <summary>1–16 hex digits at <paramref name="first"/>, a byte at a time; the index after them, or -1.</summary>
    private static int HexDigitsScalar(ReadOnlySpan<byte> s, int first, out ulong value)
    {
        value = 0;
        int i = first;
        ulong v = 0;
        while (i < s.Length)
        {
            uint d = HexDigit(s[i]);
            if (d > 15) break;
            if (i - first == 16) return -1;
            v = (v << 4) | d;
            i++;
        }
        if (i == first) return -1;
        value = v;
        return i;
    }

    /// <summary>
    /// <see cref="HexDigitsScalar"/> on the 16 bytes at <paramref name="first"/> at once (at least
    /// 17 must be there): classify every byte and count the leading digits. An sg line holds
    /// dozens of addresses, and the byte loop's per-digit branches were most of its cost.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int HexDigitsVector(ReadOnlySpan<byte> s, int first, out ulong value)
    {
        value = 0;
        uint hex = HexLanes(Utf8Scan.Load16(s[first..]), out var nibbles);
        int n = BitOperations.TrailingZeroCount(~hex); // leading hex digits, 0–16
        if (n == 0 || (n == 16 && HexDigit(s[first + 16]) <= 15)) return -1; // none, or more than 16
        value = HexValue(nibbles, n);
        return first + n;
    }

    /// <summary>Which of 16 bytes are hex digits (bit i for byte i), and the digits' values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint HexLanes(Vector128<byte> bytes, out Vector128<byte> nibbles)
    {
        var digit = bytes - Vector128.Create((byte)'0');
        var letter = (bytes | Vector128.Create((byte)0x20)) - Vector128.Create((byte)'a'); // 'A'-'F' folded onto 'a'-'f'
        var isDigit = Vector128.LessThanOrEqual(digit, Vector128.Create((byte)9));
        var isHex = isDigit | Vector128.LessThanOrEqual(letter, Vector128.Create((byte)5));
        nibbles = Vector128.ConditionalSelect(isDigit, digit, letter + Vector128.Create((byte)10));
        return isHex.ExtractMostSignificantBits();
    }

    /// <summary>The number the first <paramref name="n"/> (1–16) nibbles spell, most significant first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong HexValue(Vector128<byte> nibbles, int n)
    {
        nibbles &= Vector128.LessThan(Vector128<byte>.Indices, Vector128.Create((byte)n));
        // Each 16-bit lane holds two digits, the more significant in its low byte: pair them into
        // one byte (the high byte of the lane is left over and dropped by the narrowing).
        var lanes = nibbles.AsUInt16();
        var pairs = Vector128.Narrow((lanes << 4) | (lanes >> 8), lanes);
        // The first 8 bytes are now the 16 digits (zeros after the n-th) in big-endian order.
        ulong all16 = BinaryPrimitives.ReverseEndianness(pairs.AsUInt64().ToScalar());
        return all16 >> (64 - 4 * n);
    }

    /// <summary>
    /// Utf8Number.TryParseHex of the token <c>s[start..end]</c>, decoded 16 bytes at a time when
    /// <paramref name="s"/> has them after the digits' start.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryParseHexToken(ReadOnlySpan<byte> s, int start, int end, out ulong value)
    {
        int first = end - start > 2 && s[start] == '0' && (s[start + 1] | 0x20) == 'x' ? start + 2 : start;
        int n = end - first;
        if (n is < 1 or > 16 || s.Length - first < Vector128<byte>.Count) return Utf8Number.TryParseHex(s[start..end], out value);
        value = 0;
        uint hex = HexLanes(Utf8Scan.Load16(s[first..]), out var nibbles);
        uint digits = (1u << n) - 1;
        if ((hex & digits) != digits) return false;
        value = HexValue(nibbles, n);
        return true;
    }

    /// <summary>Digit value, or 16 for a non-hex byte. A table, not comparisons: digits and letters alternate at random in addresses, so branches on them mispredict.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint HexDigit(byte b) => HexDigits[b];

    private static readonly byte[] HexDigits = BuildHexDigits();

    private static byte[] BuildHexDigits()
    {
        var t = new byte[256];
        System.Array.Fill(t, (byte)16);
        for (int c = '0'; c <= '9'; c++) t[c] = (byte)(c - '0');
        for (int c = 'a'; c <= 'f'; c++) t[c] = (byte)(c - 'a' + 10);
        for (int c = 'A'; c <= 'F'; c++) t[c] = (byte)(c - 'A' + 10);
        return t;
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

    /// <summary>
    /// <see cref="Device"/> for a name of at most 15 bytes, the usual case ("0000:00:02.0"): its
    /// ending space found with one vector compare instead of a search. <paramref name="key"/> is
    /// the 16 bytes from the name's start with everything after that space cleared, which
    /// determines the name (a word holds no space). False, with nothing consumed, otherwise.
    /// </summary>
    public bool TryShortDevice(out Vector128<byte> key, out ReadOnlySpan<byte> name)
    {
        key = default;
        name = default;
        var rest = Rest;
        if (rest.Length < Vector128<byte>.Count) return false;
        var bytes = Utf8Scan.Load16(rest);
        uint spaces = Vector128.Equals(bytes, Vector128.Create((byte)' ')).ExtractMostSignificantBits();
        if (spaces == 0) return false;
        int length = BitOperations.TrailingZeroCount(spaces);
        if (length == 0) return false; // an empty name: Device() reports it
        key = bytes & Vector128.LessThanOrEqual(Vector128<byte>.Indices, Vector128.Create((byte)length));
        name = rest[..length];
        _pos += length + 1;
        return true;
    }

    public DmaDirection Direction(out uint raw)
    {
        raw = 0;
        if (!Lit("dir="u8, "'dir='")) return DmaDirection.None;
        // Each name with the space that ends it: what Word() and the switch below find, without the search.
        var rest = Rest;
        if (rest.StartsWith("FROM_DEVICE "u8)) { _pos += 12; raw = 2; return DmaDirection.FromDevice; }
        if (rest.StartsWith("TO_DEVICE "u8)) { _pos += 10; raw = 1; return DmaDirection.ToDevice; }
        if (rest.StartsWith("BIDIRECTIONAL "u8)) { _pos += 14; return DmaDirection.Bidirectional; }
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
        if (AtEnd) return DmaAttrs.None; // "attrs=" with nothing after it, the usual last field
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

    /// <summary>"key={0x1,0x2}" — __print_array output, decoded into one of the event's sg arrays.</summary>
    public int Array(ReadOnlySpan<byte> key, string what, DmaEvent e, SgArray which)
    {
        ref var values = ref e.Values(which);
        values.Count = 0;
        if (!Lit(key, what)) return 0;
        if (!TryLit("{"u8)) { Fail("expected '{' after " + what); return 0; }
        if (TryLit("}"u8)) { SkipSpace(); return 0; }
        var s = _s;
        int pos = _pos;
        // Each element ends at the next ',' or '}'; the delimiters come from a mask of 64 bytes
        // at a time, so the elements' extents are known up front and their decoding does not
        // wait on one another.
        var delimiters = new Delimiters(s, pos);
        var items = values.Items;
        int count = 0; // kept in a register, stored once at the end
        while (true)
        {
            int end = delimiters.Next();
            if (end < 0) { _pos = pos; Fail("unterminated array " + what); break; }
            if (!TryParseHexToken(s, pos, end, out ulong v)) { _pos = pos; Fail("bad array element in " + what); break; }
            if (count == items.Length) items = values.Grow();
            items[count++] = v;
            pos = end + 1;
            if (s[end] != '}') continue;
            _pos = pos;
            SkipSpace();
            break;
        }
        values.Count = count;
        return count;
    }

    /// <summary>The ',' and '}' of a text in order, found 64 bytes at a time as a bit mask.</summary>
    private ref struct Delimiters
    {
        private const int Window = 64;
        private readonly ReadOnlySpan<byte> _s;
        private int _window; // start of the window _mask covers
        private ulong _mask; // its delimiters not yet returned, bit i for byte _window + i

        public Delimiters(ReadOnlySpan<byte> s, int from)
        {
            _s = s;
            _window = from;
            _mask = MaskAt(s, from);
        }

        /// <summary>The index of the next delimiter, or -1 when there is none.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Next()
        {
            while (_mask == 0)
            {
                _window += Window;
                if (_window >= _s.Length) return -1;
                _mask = MaskAt(_s, _window);
            }
            int i = _window + BitOperations.TrailingZeroCount(_mask);
            _mask &= _mask - 1;
            return i;
        }

        private static ulong MaskAt(ReadOnlySpan<byte> s, int at)
        {
            if (at >= s.Length) return 0;
            if (s.Length - at >= Window) return Mask64(s.Slice(at, Window));
            if (s.Length >= Window) return Mask64(s[^Window..]) >> (at - (s.Length - Window)); // the last 64 bytes, shifted
            ulong mask = 0;
            for (int i = at; i < s.Length; i++)
            {
                if (s[i] is (byte)',' or (byte)'}') mask |= 1UL << (i - at);
            }
            return mask;
        }

        private static ulong Mask64(ReadOnlySpan<byte> s) =>
            Mask16(s) | (ulong)Mask16(s[16..]) << 16 | (ulong)Mask16(s[32..]) << 32 | (ulong)Mask16(s[48..]) << 48;

        private static uint Mask16(ReadOnlySpan<byte> s)
        {
            var v = Utf8Scan.Load16(s);
            return (Vector128.Equals(v, Vector128.Create((byte)',')) | Vector128.Equals(v, Vector128.Create((byte)'}'))).ExtractMostSignificantBits();
        }
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
