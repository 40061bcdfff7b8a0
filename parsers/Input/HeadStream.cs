namespace DmaReplay.Parsers.Input;

/// <summary>Reads the first line of a stream ahead (and then replays it), and counts the bytes read.</summary>
/// <remarks>Disposing it disposes the stream it reads.</remarks>
internal sealed class HeadStream(Stream inner) : Stream
{
    private readonly byte[] _head = new byte[256];
    private int _headLength, _headPos;

    public long BytesRead { get; private set; }

    /// <summary>The first <paramref name="count"/> bytes (fewer at the end of the input).</summary>
    public ReadOnlySpan<byte> Peek(int count)
    {
        while (_headLength < count && Fill()) { }
        return _head.AsSpan(0, Math.Min(count, _headLength));
    }

    /// <summary>The first line (without its '\n'), or the first 256 bytes when the line is longer.</summary>
    public ReadOnlySpan<byte> FirstLine()
    {
        while (_head.AsSpan(0, _headLength).IndexOf((byte)'\n') < 0 && Fill()) { }
        var head = _head.AsSpan(0, _headLength);
        int nl = head.IndexOf((byte)'\n');
        return nl < 0 ? head : head[..nl];
    }

    private bool Fill()
    {
        if (_headPos > 0 || _headLength == _head.Length) return false; // only before reading starts
        int n = inner.Read(_head, _headLength, _head.Length - _headLength);
        _headLength += n;
        BytesRead += n;
        return n > 0;
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
        int read = inner.Read(buffer);
        BytesRead += read;
        return read;
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
