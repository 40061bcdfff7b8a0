using System.Globalization;

namespace DmaReplay.Reports;

/// <summary>How every format spells the values that are not plain numbers, so they agree.</summary>
internal static class ReportText
{
    public const string StackSeparator = " <- ";

    /// <summary>A DMA address as the kernel prints it, with a 0x prefix.</summary>
    public static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>A trace timestamp in seconds with microseconds, as ftrace prints it.</summary>
    public static string? Seconds(long? ns) => ns is { } v ? (v / 1_000_000_000m).ToString("F6", CultureInfo.InvariantCulture) : null;

    /// <summary>Stack frames in model order (innermost first, as ftrace prints them), on one line.</summary>
    public static string Stack(IReadOnlyList<string> frames) => string.Join(StackSeparator, frames);
}
