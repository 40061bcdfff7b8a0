namespace DmaReplay.Parsers.Model;

/// <summary>
/// The gfp bits DmaReplay reasons about, parsed from show_gfp_flags() output
/// (include/trace/events/mmflags.h). The printed text itself is kept interned on the event.
/// </summary>
[Flags]
public enum GfpFlags : uint
{
    None = 0,
    Dma = 1 << 0,
    Dma32 = 1 << 1,
    Highmem = 1 << 2,
    Movable = 1 << 3,
    Io = 1 << 4,
    Fs = 1 << 5,
    DirectReclaim = 1 << 6,
    KswapdReclaim = 1 << 7,
    High = 1 << 8,
    Zero = 1 << 9,
    NoWarn = 1 << 10,
    Comp = 1 << 11,
    NoRetry = 1 << 12,
    RetryMayFail = 1 << 13,
    NoFail = 1 << 14,
    Account = 1 << 15,
    /// <summary>A name this table does not know was present.</summary>
    Unrecognized = 1u << 31,

    Reclaim = DirectReclaim | KswapdReclaim,
    Kernel = Reclaim | Io | Fs,
    Atomic = High | KswapdReclaim,
    NoWait = KswapdReclaim,
    NoIo = Reclaim,
    NoFs = Reclaim | Io,
    User = Reclaim | Io | Fs,
}

public static class GfpNames
{
    /// <summary>Composite and single names as show_gfp_flags prints them.</summary>
    private static readonly (string Name, GfpFlags Bits)[] Table =
    [
        ("GFP_TRANSHUGE", GfpFlags.User | GfpFlags.Highmem | GfpFlags.Movable | GfpFlags.Comp),
        ("GFP_TRANSHUGE_LIGHT", GfpFlags.Highmem | GfpFlags.Movable | GfpFlags.Comp),
        ("GFP_HIGHUSER_MOVABLE", GfpFlags.User | GfpFlags.Highmem | GfpFlags.Movable),
        ("GFP_HIGHUSER", GfpFlags.User | GfpFlags.Highmem),
        ("GFP_USER", GfpFlags.User),
        ("GFP_KERNEL_ACCOUNT", GfpFlags.Kernel | GfpFlags.Account),
        ("GFP_KERNEL", GfpFlags.Kernel),
        ("GFP_NOFS", GfpFlags.NoFs),
        ("GFP_ATOMIC", GfpFlags.Atomic),
        ("GFP_NOIO", GfpFlags.NoIo),
        ("GFP_NOWAIT", GfpFlags.NoWait),
        ("GFP_DMA32", GfpFlags.Dma32),
        ("GFP_DMA", GfpFlags.Dma),
        ("__GFP_DMA32", GfpFlags.Dma32),
        ("__GFP_DMA", GfpFlags.Dma),
        ("__GFP_HIGHMEM", GfpFlags.Highmem),
        ("__GFP_MOVABLE", GfpFlags.Movable),
        ("__GFP_IO", GfpFlags.Io),
        ("__GFP_FS", GfpFlags.Fs),
        ("__GFP_DIRECT_RECLAIM", GfpFlags.DirectReclaim),
        ("__GFP_KSWAPD_RECLAIM", GfpFlags.KswapdReclaim),
        ("__GFP_RECLAIM", GfpFlags.Reclaim),
        ("__GFP_HIGH", GfpFlags.High),
        ("__GFP_ZERO", GfpFlags.Zero),
        ("__GFP_NOWARN", GfpFlags.NoWarn),
        ("__GFP_COMP", GfpFlags.Comp),
        ("__GFP_NORETRY", GfpFlags.NoRetry),
        ("__GFP_RETRY_MAYFAIL", GfpFlags.RetryMayFail),
        ("__GFP_NOFAIL", GfpFlags.NoFail),
        ("__GFP_ACCOUNT", GfpFlags.Account),
    ];

    private static readonly byte[][] Utf8Names = Array.ConvertAll(Table, t => System.Text.Encoding.ASCII.GetBytes(t.Name));

    /// <summary>Parses "GFP_KERNEL|__GFP_ZERO" (or "none"); unknown names set <see cref="GfpFlags.Unrecognized"/>.</summary>
    public static GfpFlags Parse(ReadOnlySpan<byte> text)
    {
        if (text.SequenceEqual("none"u8)) return GfpFlags.None;
        var result = GfpFlags.None;
        while (!text.IsEmpty)
        {
            int bar = text.IndexOf((byte)'|');
            var name = bar < 0 ? text : text[..bar];
            text = bar < 0 ? default : text[(bar + 1)..];
            int i = 0;
            for (; i < Utf8Names.Length; i++)
            {
                if (name.SequenceEqual(Utf8Names[i])) { result |= Table[i].Bits; break; }
            }
            if (i == Utf8Names.Length) result |= GfpFlags.Unrecognized;
        }
        return result;
    }

    /// <summary>A request that may not sleep (no __GFP_DIRECT_RECLAIM): dma_alloc_attrs takes the atomic pool for it.</summary>
    public static bool IsNonBlocking(this GfpFlags f) => (f & GfpFlags.DirectReclaim) == 0;
}
