using System.Buffers;
using System.Runtime.CompilerServices;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Parsers.Ftrace;

/// <summary>
/// Streams ftrace text — the tracefs <c>trace</c> file (with its '#' header), <c>trace_pipe</c>
/// output, or <c>trace-cmd report</c> output — and pushes one <see cref="DmaEvent"/> per line of
/// the dma, swiotlb, iommu and dma_fence systems to a handler.
/// </summary>
/// <remarks>
/// Works on bytes in a 1 MiB window: lines are framed with a vectorized newline search and parsed
/// in place; numbers, names and arrays are decoded from spans into a reused event. Nothing is
/// allocated per event once device, task and function names have been seen. The kernel stack that
/// follows an event (options/stacktrace) is attached to it, so each event is handed on when the
/// next event line arrives. A line that cannot be parsed becomes a diagnostic and reading goes on.
/// </remarks>
public sealed partial class FtraceTextReader
{
    /// <summary>The read window; a line longer than this is reported and skipped.</summary>
    public const int MaxLineLength = 1 << 20;

    /// <summary>
    /// Bytes asked of the stream at a time. Far below the window: the unparsed tail moves to the
    /// front after every read, so reads this size keep cycling through the same small part of
    /// the window, which stays in the CPU cache with the checker's tables instead of a whole
    /// mebibyte of text sweeping them out on every read.
    /// </summary>
    private const int ReadSize = 1 << 16;

    /// <summary>
    /// Events held back for a stack that may still follow. Lines of different CPUs are merged by
    /// timestamp, so another CPU's events can come between an event and its &lt;stack trace&gt;.
    /// </summary>
    private const int Lookback = 8;

    private readonly TraceStrings _strings;
    private readonly ITraceEventHandler _handler;
    private readonly DmaEvent[] _queue = new DmaEvent[Lookback];
    private readonly long[] _queueSeq = new long[Lookback];
    private int _queueHead, _queueCount;
    private long _eventLineSeq;
    private long[] _lastSeqOnCpu = new long[8];
    private StackKind _collecting;
    private int _stackTarget;
    private int[] _frames = new int[64];
    private int _frameCount;

    private InputStatistics _stats = null!;
    private long _lineNo;
    private long _lineOffset;
    private string? _failure;

    private enum StackKind : byte { None, Kernel, User, Discard }

    private readonly ShortNameCache _taskCache;
    private readonly ShortNameCache _deviceCache;

    public FtraceTextReader(TraceStrings strings, ITraceEventHandler handler)
    {
        _strings = strings;
        _handler = handler;
        _taskCache = new ShortNameCache(strings.Tasks, 256);
        _deviceCache = new ShortNameCache(strings.Devices, 64);
        for (int i = 0; i < Lookback; i++) _queue[i] = new DmaEvent();
    }

    /// <summary>Reads one input to the end. Never throws for bad content or a read failure; both are recorded in the result.</summary>
    public InputStatistics Read(Stream stream, string inputName, int inputIndex)
    {
        _stats = new InputStatistics(inputName, inputIndex, _strings);
        _lineNo = 0;
        _queueHead = _queueCount = 0;
        _eventLineSeq = 0;
        Array.Clear(_lastSeqOnCpu);
        _collecting = StackKind.None;
        _frameCount = 0;
        try
        {
            ReadLines(stream);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or ZstdSharp.ZstdException or UnauthorizedAccessException)
        {
            _stats.MarkUnreadable($"read failed after line {_lineNo}: {ex.Message}");
        }
        FinishStack();
        while (_queueCount > 0) DispatchOldest();
        _stats.Lines = _lineNo;
        return _stats;
    }

    private void ReadLines(Stream stream)
    {
        // Pooled: a reader per input would otherwise allocate a fresh 1 MiB window every time.
        var buf = ArrayPool<byte>.Shared.Rent(MaxLineLength);
        try
        {
            ReadLines(stream, buf);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buf);
        }
    }

    private void ReadLines(Stream stream, byte[] buf)
    {
        int start = 0, end = 0;
        long bufBase = 0;
        bool skippingLongLine = false;
        while (true)
        {
            int n = stream.Read(buf, end, Math.Min(ReadSize, MaxLineLength - end));
            if (n == 0) break;
            end += n;
            _stats.Bytes += n;
            if (skippingLongLine)
            {
                int nl = buf.AsSpan(start, end - start).IndexOf((byte)'\n');
                if (nl >= 0)
                {
                    skippingLongLine = false;
                    start += nl + 1;
                }
            }
            if (!skippingLongLine) start += ProcessLines(buf.AsSpan(start, end - start), bufBase + start);
            if (start > 0)
            {
                Buffer.BlockCopy(buf, start, buf, 0, end - start);
                bufBase += start;
                end -= start;
                start = 0;
            }
            if (end == MaxLineLength)
            {
                if (!skippingLongLine)
                {
                    _lineNo++;
                    _lineOffset = bufBase;
                    FinishStack();
                    Malformed(buf.AsSpan(0, end), $"line longer than {MaxLineLength} bytes");
                    skippingLongLine = true;
                }
                bufBase += end;
                end = 0;
            }
        }
        if (end > start && !skippingLongLine)
        {
            // The kernel ends every line with '\n': a last line without one was cut off (a copy
            // interrupted, a capture killed), and a cut "size=4096" would still parse as "size=40".
            _lineNo++;
            _lineOffset = bufBase + start;
            FinishStack();
            Malformed(buf.AsSpan(start, end - start), "last line is truncated (no newline at end of input)");
        }
    }

    /// <summary>
    /// Every complete line of <paramref name="window"/>; returns the bytes consumed. A method of its
    /// own, called once per read, so the JIT tiers it up with profile data like any other method:
    /// as the body of <see cref="ReadLines(Stream, byte[])"/>, which runs once per input, it only
    /// ever ran as on-stack-replacement code (not inlined for the same reason).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int ProcessLines(ReadOnlySpan<byte> window, long windowOffset)
    {
        int consumed = 0;
        while (true)
        {
            int nl = window[consumed..].IndexOf((byte)'\n');
            if (nl < 0) return consumed;
            ProcessLine(window.Slice(consumed, nl), windowOffset + consumed);
            consumed += nl + 1;
        }
    }

    private void ProcessLine(ReadOnlySpan<byte> line, long offset)
    {
        _lineNo++;
        _lineOffset = offset;
        if (!line.IsEmpty && line[^1] == '\r') line = line[..^1];
        if (_lineNo == 1) DetectFormat(line);

        if (line.Length >= 4 && line[0] == ' ' && line[1] == '=' && line[2] == '>' && line[3] == ' ')
        {
            StackFrame(line[4..]);
            return;
        }
        FinishStack();
        if (line.IsEmpty)
        {
            _stats.Skip(SkipReason.Blank);
            return;
        }
        if (line[0] == '#')
        {
            HeaderLine(line);
            return;
        }
        if (_queueCount == Lookback) DispatchOldest();
        var e = _queue[(_queueHead + _queueCount) % Lookback];
        if (TryParseContext(line, e, out int pos))
        {
            EventLine(line, pos, e);
            return;
        }
        if (TryNonEventLine(line)) return;
        Malformed(line, "not an ftrace event line");
    }

    private void EventLine(ReadOnlySpan<byte> line, int pos, DmaEvent e)
    {
        _stats.SeeTimestamp(e.TimestampNs);
        var rest = line[pos..];
        if (!rest.IsEmpty && rest[0] == '<' && (rest.StartsWith("<stack trace>"u8) || rest.StartsWith("<user stack trace>"u8)))
        {
            StackEntry(e.Cpu, e.Pid, user: rest[1] == 'u');
            return;
        }
        long seq = ++_eventLineSeq;
        if (e.Cpu >= _lastSeqOnCpu.Length) Array.Resize(ref _lastSeqOnCpu, Math.Max(e.Cpu + 1, _lastSeqOnCpu.Length * 2));
        _lastSeqOnCpu[e.Cpu] = seq;
        int colon = Text.Utf8Scan.IndexOfNear(rest, (byte)':');
        if (colon <= 0)
        {
            Malformed(line, "no event name after the timestamp");
            return;
        }
        var name = rest[..colon];
        int body = colon + 1;
        while (body < rest.Length && rest[body] == ' ') body++; // trace-cmd pads the name column
        int kind = EventNames.Find(name);
        if (kind < 0)
        {
            _stats.CountOtherEvent(_strings.Text.Intern(name));
            return;
        }
        e.Kind = (DmaEventKind)kind;
        e.Position = new SourcePosition(_stats.Index, _lineNo, _lineOffset);
        if (!ParseBody(e, rest[body..]))
        {
            Malformed(line, $"{e.Kind.Name()}: {_failure ?? "malformed body"}");
            return;
        }
        _stats.CountEvent(e.Kind);
        _queueSeq[(_queueHead + _queueCount) % Lookback] = seq;
        _queueCount++;
    }

    private void DispatchOldest()
    {
        var e = _queue[_queueHead];
        _queueHead = (_queueHead + 1) % Lookback;
        _queueCount--;
        _handler.OnEvent(e);
    }

    /// <summary>
    /// A "&lt;stack trace&gt;" entry: its frames belong to the last event line of the same CPU and
    /// task, when that line was a DMA event still held back; otherwise they are counted only.
    /// </summary>
    private void StackEntry(int cpu, int pid, bool user)
    {
        _stats.Skip(SkipReason.StackTrace);
        _stats.StackTraces++;
        _frameCount = 0;
        _collecting = StackKind.Discard;
        if (cpu >= _lastSeqOnCpu.Length) return;
        long seq = _lastSeqOnCpu[cpu];
        for (int i = _queueCount - 1; i >= 0; i--)
        {
            int slot = (_queueHead + i) % Lookback;
            if (_queueSeq[slot] != seq) continue;
            if (_queue[slot].Pid == pid)
            {
                _stackTarget = slot;
                _collecting = user ? StackKind.User : StackKind.Kernel;
            }
            return;
        }
    }

    private void StackFrame(ReadOnlySpan<byte> function)
    {
        _stats.Skip(SkipReason.StackTrace);
        _stats.StackFrames++;
        if (_collecting is StackKind.None or StackKind.Discard) return;
        if (_frameCount == _frames.Length) Array.Resize(ref _frames, _frames.Length * 2);
        _frames[_frameCount++] = _strings.Functions.Intern(function.Trim((byte)' '));
    }

    private void FinishStack()
    {
        if (_collecting == StackKind.None) return;
        if (_frameCount > 0 && _collecting != StackKind.Discard)
        {
            int id = _strings.Stacks.Intern(_frames, _frameCount);
            if (_collecting == StackKind.Kernel) _queue[_stackTarget].KernelStack = id;
            else _queue[_stackTarget].UserStack = id;
        }
        _collecting = StackKind.None;
        _frameCount = 0;
    }

    private void DetectFormat(ReadOnlySpan<byte> line)
    {
        _stats.Format = !line.IsEmpty && line[0] == '#' ? "ftrace"
            : line.StartsWith("cpus="u8) || line.StartsWith("version ="u8) ? "trace-cmd-report"
            : "trace_pipe";
    }

    private void HeaderLine(ReadOnlySpan<byte> line)
    {
        if (line.StartsWith("##### CPU "u8))
        {
            _stats.Skip(SkipReason.CpuBufferStarted);
            return;
        }
        _stats.Skip(SkipReason.Header);
        // "# entries-in-buffer/entries-written: A/B   #P:N"
        const string key = "# entries-in-buffer/entries-written: ";
        if (!line.StartsWith("# entries-in-buffer/entries-written: "u8)) return;
        var rest = line[key.Length..];
        int slash = rest.IndexOf((byte)'/');
        int space = rest.IndexOf((byte)' ');
        if (slash < 0) return;
        if (space < 0) space = rest.Length;
        if (Text.Utf8Number.TryParseDecimal(rest[..slash], out ulong inBuffer)
            && space > slash && Text.Utf8Number.TryParseDecimal(rest[(slash + 1)..space], out ulong written))
        {
            _stats.HeaderEntriesInBuffer = (long)inBuffer;
            _stats.HeaderEntriesWritten = (long)written;
            if (written > inBuffer) _stats.LostEvents += (long)(written - inBuffer);
        }
        int p = rest.IndexOf("#P:"u8);
        if (p >= 0 && Text.Utf8Number.TryParseDecimal(rest[(p + 3)..].Trim((byte)' '), out ulong cpus)) _stats.HeaderCpus = (int)cpus;
    }

    /// <summary>Lines that are neither events nor malformed: lost-event markers and trace-cmd headers.</summary>
    private bool TryNonEventLine(ReadOnlySpan<byte> line)
    {
        // tracefs: "CPU:%d [LOST %lu EVENTS]"; trace-cmd: "CPU:%d [%lld EVENTS DROPPED]" or "CPU:%d [EVENTS DROPPED]".
        if (line.StartsWith("CPU:"u8))
        {
            int open = line.IndexOf((byte)'[');
            int close = line.LastIndexOf((byte)']');
            if (open < 0 || close < open) return false;
            var inner = line[(open + 1)..close];
            if (inner.StartsWith("LOST "u8) && inner.EndsWith(" EVENTS"u8)
                && Text.Utf8Number.TryParseDecimal(inner[5..^7], out ulong lost))
            {
                _stats.LostEvents += (long)lost;
            }
            else if (inner.EndsWith(" EVENTS DROPPED"u8) && Text.Utf8Number.TryParseDecimal(inner[..^15], out ulong dropped))
            {
                _stats.LostEvents += (long)dropped;
            }
            else if (!inner.SequenceEqual("EVENTS DROPPED"u8))
            {
                return false;
            }
            _stats.LostEventMarkers++;
            _stats.Skip(SkipReason.LostEventsMarker);
            return true;
        }
        if (line.StartsWith("cpus="u8) || line.StartsWith("version ="u8)
            || (line.StartsWith("CPU "u8) && line.EndsWith(" is empty"u8)))
        {
            _stats.Skip(SkipReason.Header);
            return true;
        }
        return false;
    }

    private void Malformed(ReadOnlySpan<byte> line, string reason)
    {
        _stats.AddMalformed(_stats.KeepsMoreDiagnostics
            ? new ParseDiagnostic(_stats.Path, _lineNo, _lineOffset, reason, Excerpt(line))
            : null);
    }

    /// <summary>The first 160 characters of a line, printable ASCII only, for a diagnostic.</summary>
    internal static string Excerpt(ReadOnlySpan<byte> line)
    {
        int n = Math.Min(line.Length, 160);
        var chars = new char[n];
        for (int i = 0; i < n; i++)
        {
            byte b = line[i];
            chars[i] = b is >= 0x20 and < 0x7f ? (char)b : '?';
        }
        return n < line.Length ? new string(chars) + "…" : new string(chars);
    }
}
