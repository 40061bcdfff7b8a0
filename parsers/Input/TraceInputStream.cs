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
            var peek = new PeekStream(raw);
            kind = peek.Sniff();
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

    private static Compression CompressionOf(string name) =>
        name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? Compression.Gzip
        : name.EndsWith(".zst", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".zstd", StringComparison.OrdinalIgnoreCase) ? Compression.Zstd
        : Compression.None;

    /// <summary>Reads the first bytes once to sniff the format, then replays them.</summary>
    private sealed class PeekStream(Stream inner) : Stream
    {
        private readonly byte[] _head = new byte[4];
        private int _headLength, _headPos;

        public Compression Sniff()
        {
            while (_headLength < _head.Length)
            {
                int n = inner.Read(_head, _headLength, _head.Length - _headLength);
                if (n == 0) break;
                _headLength += n;
            }
            if (_headLength >= 2 && _head[0] == 0x1f && _head[1] == 0x8b) return Compression.Gzip;
            if (_headLength >= 4 && _head[0] == 0x28 && _head[1] == 0xb5 && _head[2] == 0x2f && _head[3] == 0xfd) return Compression.Zstd;
            return Compression.None;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_headPos < _headLength)
            {
                int n = Math.Min(buffer.Length, _headLength - _headPos);
                _head.AsSpan(_headPos, n).CopyTo(buffer);
                _headPos += n;
                return n;
            }
            return inner.Read(buffer);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
