using System.Runtime.CompilerServices;

namespace DmaReplay.Parsers.Text;

/// <summary>Allocation-free number parsing on UTF-8 spans, strict about what the kernel prints.</summary>
internal static class Utf8Number
{
    private static readonly sbyte[] HexValue = BuildHexTable();

    private static sbyte[] BuildHexTable()
    {
        var t = new sbyte[256];
        Array.Fill(t, (sbyte)-1);
        for (int c = '0'; c <= '9'; c++) t[c] = (sbyte)(c - '0');
        for (int c = 'a'; c <= 'f'; c++) t[c] = (sbyte)(c - 'a' + 10);
        for (int c = 'A'; c <= 'F'; c++) t[c] = (sbyte)(c - 'A' + 10);
        return t;
    }

    /// <summary>1–16 hex digits with an optional 0x prefix (%llx, %016llx, 0x%llx all parse).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParseHex(ReadOnlySpan<byte> s, out ulong value)
    {
        value = 0;
        if (s.Length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s = s[2..];
        if (s.IsEmpty || s.Length > 16) return false;
        ulong v = 0;
        foreach (byte b in s)
        {
            int d = HexValue[b];
            if (d < 0) return false;
            v = (v << 4) | (uint)d;
        }
        value = v;
        return true;
    }

    /// <summary>Unsigned decimal; fails on overflow, empty input or any non-digit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParseDecimal(ReadOnlySpan<byte> s, out ulong value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 20) return false;
        ulong v = 0;
        foreach (byte b in s)
        {
            uint d = (uint)(b - '0');
            if (d > 9) return false;
            if (v > (ulong.MaxValue - d) / 10) return false;
            v = v * 10 + d;
        }
        value = v;
        return true;
    }

    /// <summary>Signed decimal (errno values such as -12).</summary>
    public static bool TryParseInt(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        bool neg = !s.IsEmpty && s[0] == '-';
        if (!TryParseDecimal(neg ? s[1..] : s, out ulong u) || u > int.MaxValue) return false;
        value = neg ? -(int)u : (int)u;
        return true;
    }

    /// <summary>Decimal or 0x-prefixed hex (libtraceevent's raw field dumps use both).</summary>
    public static bool TryParseAuto(ReadOnlySpan<byte> s, out ulong value) =>
        s.Length > 2 && s[0] == '0' && s[1] == 'x' ? TryParseHex(s, out value) : TryParseDecimal(s, out value);
}
