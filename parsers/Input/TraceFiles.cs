using DmaReplay.Parsers.Csv;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Parquet;
using DmaReplay.Parsers.Synthetic;

namespace DmaReplay.Parsers.Input;

/// <summary>The formats an input can be in.</summary>
public enum TraceFormat
{
    /// <summary>ftrace text: the tracefs trace file, trace_pipe or trace-cmd report output.</summary>
    Ftrace,
    /// <summary>CSV of <see cref="EventSchema"/>.</summary>
    Csv,
    /// <summary>Parquet of <see cref="EventSchema"/>.</summary>
    Parquet,
}

/// <summary>A sink that writes the events it is handed in one format; disposing it finishes the output.</summary>
public interface ITraceEventWriter : ITraceEventHandler, IDisposable
{
    long Events { get; }
}

/// <summary>
/// Opens an input and reads it with the reader of its format: Parquet by the .parquet extension
/// or the "PAR1" magic, CSV by .csv (also .csv.gz/.csv.zst) or its "#dmareplay-events" first
/// line, ftrace text otherwise. gzip and zstd are decompressed as <see cref="TraceInputStream"/> does.
/// </summary>
public static class TraceFiles
{
    private static ReadOnlySpan<byte> ParquetMagic => "PAR1"u8;

    /// <summary>The format the name alone says, or null when it says none (then the content decides).</summary>
    public static TraceFormat? FormatOfName(string path)
    {
        var name = path;
        foreach (var z in (ReadOnlySpan<string>)[".gz", ".zst", ".zstd"])
        {
            if (name.EndsWith(z, StringComparison.OrdinalIgnoreCase)) name = name[..^z.Length];
        }
        if (name.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase)) return TraceFormat.Parquet;
        if (name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) return TraceFormat.Csv;
        if (name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".trace", StringComparison.OrdinalIgnoreCase)) return TraceFormat.Ftrace;
        return null;
    }

    /// <summary>
    /// Reads <paramref name="openPath"/> (a file, or "-" for standard input) to the end. Bad content
    /// and read failures are recorded in the result; only failing to open the input throws
    /// (<see cref="IOException"/>, <see cref="UnauthorizedAccessException"/>).
    /// </summary>
    public static InputStatistics Read(string openPath, string displayPath, int index, TraceStrings strings, ITraceEventHandler handler)
    {
        var byName = FormatOfName(openPath);
        if (byName == TraceFormat.Parquet || (byName is null && openPath != TraceInputStream.StandardInput && HasParquetMagic(openPath)))
        {
            if (openPath.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) || byName is null)
            {
                using var file = new FileStream(openPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
                return new ParquetEventReader(strings, handler).Read(file, displayPath, index);
            }
            var compressed = new InputStatistics(displayPath, index, strings) { Format = "parquet" };
            compressed.MarkUnreadable("a Parquet input must be a file (the reader seeks to its footer), not a compressed stream");
            return compressed;
        }
        using var stream = TraceInputStream.Open(openPath, out _);
        if (byName == TraceFormat.Csv) return new CsvEventReader(strings, handler).Read(stream, displayPath, index);
        var head = new HeadStream(stream);
        var first = head.FirstLine();
        if (first.StartsWith(System.Text.Encoding.ASCII.GetBytes(EventSchema.CsvMagic)))
            return new CsvEventReader(strings, handler).Read(head, displayPath, index);
        return new FtraceTextReader(strings, handler).Read(head, displayPath, index);
    }

    /// <summary>
    /// A writer of <paramref name="format"/> over <paramref name="stream"/> (which stays the caller's to dispose),
    /// naming events by <paramref name="strings"/>, the table their reader interns into.
    /// </summary>
    public static ITraceEventWriter CreateWriter(TraceFormat format, Stream stream, TraceStrings strings) => format switch
    {
        TraceFormat.Csv => new CsvEventWriter(stream, strings),
        TraceFormat.Parquet => new ParquetEventWriter(stream, strings),
        _ => new FtraceEventWriter(stream, strings),
    };

    private static bool HasParquetMagic(string path)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
            Span<byte> magic = stackalloc byte[4];
            return f.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual(ParquetMagic);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // opening it again reports why
        }
    }
}
