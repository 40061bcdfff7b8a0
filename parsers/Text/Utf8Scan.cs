using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DmaReplay.Parsers.Text;

/// <summary>Vector helpers for the short searches and loads of the line parsers.</summary>
internal static class Utf8Scan
{
    /// <summary>The first 16 bytes of <paramref name="s"/> (which must have them) as a vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> Load16(ReadOnlySpan<byte> s) => MemoryMarshal.Read<Vector128<byte>>(s);

    /// <summary>
    /// <see cref="MemoryExtensions.IndexOf{T}(ReadOnlySpan{T}, T)"/> for a byte expected within
    /// the first 16: one vector compare there, the general search only when it is not.
    /// Short searches (an event name's ':', a field's ' ') are mostly call overhead otherwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexOfNear(ReadOnlySpan<byte> s, byte value)
    {
        if (s.Length >= Vector128<byte>.Count)
        {
            uint hits = Vector128.Equals(Load16(s), Vector128.Create(value)).ExtractMostSignificantBits();
            if (hits != 0) return BitOperations.TrailingZeroCount(hits);
        }
        return s.IndexOf(value);
    }
}
