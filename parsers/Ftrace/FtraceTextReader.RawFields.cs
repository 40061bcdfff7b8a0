using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Text;

namespace DmaReplay.Parsers.Ftrace;

public sealed partial class FtraceTextReader
{
    /// <summary>
    /// trace-cmd report cannot evaluate dma_map_sg's __print_array() and prints
    /// <c>[FAILED TO PARSE] device=… full_nents=N full_ents=N truncated=N phys_addrs=ARRAY[bytes]
    /// dma_addrs=ARRAY[bytes] lengths=ARRAY[bytes] dir=N attrs=0xN</c>: the raw record fields in
    /// format-file order. The arrays are the little-endian bytes of u64 (addresses) and u32
    /// (lengths) elements.
    /// </summary>
    private bool MapSgRaw(ReadOnlySpan<byte> body, DmaEvent e)
    {
        var rest = body["[FAILED TO PARSE] "u8.Length..];
        bool haveDevice = false, haveDir = false;
        int phys = -1, dma = -1, lengths = -1;
        long fullNents = -1, fullEnts = -1;
        while (!rest.IsEmpty)
        {
            int eq = rest.IndexOf((byte)'=');
            if (eq <= 0) return RawFail("expected key=value");
            var key = rest[..eq];
            rest = rest[(eq + 1)..];
            ReadOnlySpan<byte> value;
            if (rest.StartsWith("ARRAY["u8))
            {
                int close = rest.IndexOf((byte)']');
                if (close < 0) return RawFail("unterminated ARRAY[");
                value = rest[6..close];
                rest = rest[(close + 1)..].TrimStart((byte)' ');
            }
            else
            {
                int sp = rest.IndexOf((byte)' ');
                value = sp < 0 ? rest : rest[..sp];
                rest = sp < 0 ? default : rest[(sp + 1)..];
            }

            if (key.SequenceEqual("device"u8))
            {
                if (value.IsEmpty) return RawFail("empty device");
                e.Device = _strings.Devices.Intern(value);
                haveDevice = true;
            }
            else if (key.SequenceEqual("phys_addrs"u8)) phys = RawArray(value, e, SgArray.Phys, 8);
            else if (key.SequenceEqual("dma_addrs"u8)) dma = RawArray(value, e, SgArray.Dma, 8);
            else if (key.SequenceEqual("lengths"u8)) lengths = RawArray(value, e, SgArray.Lengths, 4);
            else if (key.SequenceEqual("dir"u8))
            {
                if (!Utf8Number.TryParseAuto(value, out ulong d) || d > uint.MaxValue) return RawFail("bad dir");
                e.RawDirection = (uint)d;
                e.Direction = d <= 3 ? (DmaDirection)d : DmaDirection.Unknown;
                haveDir = true;
            }
            else if (key.SequenceEqual("attrs"u8))
            {
                if (!Utf8Number.TryParseAuto(value, out ulong a)) return RawFail("bad attrs");
                e.Attrs = (DmaAttrs)a;
            }
            else if (key.SequenceEqual("full_nents"u8) || key.SequenceEqual("full_ents"u8) || key.SequenceEqual("truncated"u8))
            {
                if (!Utf8Number.TryParseDecimal(value, out ulong n) || n > int.MaxValue) return RawFail("bad count");
                if (key[0] == 't') e.Truncated = n != 0;
                else if (key[5] == 'n') fullNents = (long)n;
                else fullEnts = (long)n;
            }
            // Other raw fields (none in 6.12) are ignored: the names above carry the event.
        }
        if (!haveDevice || !haveDir || phys < 0 || dma < 0 || lengths < 0) return RawFail("missing raw field (device, dir, phys_addrs, dma_addrs or lengths)");
        if (dma != lengths) return RawFail($"{dma} dma_addrs but {lengths} lengths");
        e.Nents = fullNents >= 0 ? (int)fullNents : phys;
        e.Ents = fullEnts >= 0 ? (int)fullEnts : dma;
        return true;
    }

    /// <summary>"00, 10, f2, 0a, …": bytes of little-endian elements of <paramref name="width"/> bytes; -1 on error.</summary>
    private static int RawArray(ReadOnlySpan<byte> bytes, DmaEvent e, SgArray which, int width)
    {
        e.ClearArrays(which);
        int count = 0, byteIndex = 0;
        ulong acc = 0;
        while (!bytes.IsEmpty)
        {
            int comma = bytes.IndexOf((byte)',');
            var tok = (comma < 0 ? bytes : bytes[..comma]).Trim((byte)' ');
            bytes = comma < 0 ? default : bytes[(comma + 1)..];
            if (!Utf8Number.TryParseHex(tok, out ulong b) || b > 0xff) return -1;
            acc |= b << (8 * byteIndex);
            if (++byteIndex == width)
            {
                e.Append(which, acc);
                count++;
                acc = 0;
                byteIndex = 0;
            }
        }
        return byteIndex == 0 ? count : -1;
    }

    private bool RawFail(string reason)
    {
        _failure = "trace-cmd raw fields: " + reason;
        return false;
    }
}
