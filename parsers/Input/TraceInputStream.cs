using System.IO.Compression;
using ZstdSharp;

namespace DmaReplay.Parsers.Input;

/// <summary>
/// Opens a trace for reading: a file, or standard input for "-"; gzip and zstd are decompressed
/// transparently, chosen by extension (.gz, .zst/.zstd) or, failing that, by the magic bytes.
/// </summary>
public static class TraceInputStream
{
    public const string StandardInput = "-";
    private const int FileBufferSize = 1 << 16;

    public static Stream Open(string path, out long fileBytes)
    {
        Stream raw;
        if (path == StandardInput)
        {
            raw = Console.OpenStandardInput();
            fileBytes = -1;
        }
        else
        {
            var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileBufferSize, FileOptions.SequentialScan);
            fileBytes = fs.Length;
            raw = fs;
        }
        return Decompress(raw, path);
    }

    /// <summary>Wraps <paramref name="raw"/> in a decompressor when the name or the first bytes say so.</summary>
    public static Stream Decompress(Stream raw, string name)
    {
        var kind = CompressionOf(name);
        if (kind == Compression.None)
        {
            var peek = new HeadStream(raw);
            kind = Sniff(peek.Peek(4));
            raw = peek;
        }
        return kind switch
        {
            Compression.Gzip => new GZipStream(raw, CompressionMode.Decompress),
            Compression.Zstd => new DecompressionStream(raw),
            _ => raw,
        };
    }

    private enum Compression { None, Gzip, Zstd }

    private static Compression Sniff(ReadOnlySpan<byte> head) =>
        head.StartsWith((ReadOnlySpan<byte>)[0x1f, 0x8b]) ? Compression.Gzip
        : head.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd]) ? Compression.Zstd
        : Compression.None;

    private static Compression CompressionOf(string name) =>
        name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? Compression.Gzip
        : name.EndsWith(".zst", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".zstd", StringComparison.OrdinalIgnoreCase) ? Compression.Zstd
        : Compression.None;
}
