using DmaReplay.Parsers.Model;

namespace DmaReplay.Parsers;

/// <summary>
/// What a reader saw in one input: every line accounted for as an event, a skipped line (with
/// its reason) or a malformed line; event counts by name; lost events; the first diagnostics.
/// </summary>
public sealed class InputStatistics
{
    /// <summary>Diagnostics kept in full per input; the rest are only counted.</summary>
    public const int MaxDiagnostics = 100;

    private readonly long[] _eventsByKind = new long[DmaEventKinds.Count];
    private readonly long[] _skipped = new long[SkipReasons.Count];
    private readonly Dictionary<int, long> _otherEvents = new();
    private readonly List<ParseDiagnostic> _diagnostics = [];
    private readonly TraceStrings _strings;

    public InputStatistics(string path, int index, TraceStrings strings)
    {
        Path = path;
        Index = index;
        _strings = strings;
    }

    public string Path { get; }
    public int Index { get; }
    /// <summary>"ftrace" (tracefs trace file), "trace_pipe" or "trace-cmd-report".</summary>
    public string Format { get; internal set; } = "ftrace";
    /// <summary>Bytes of trace text read (after decompression).</summary>
    public long Bytes { get; internal set; }
    public long Lines { get; internal set; }
    public long Events { get; internal set; }
    public long Malformed { get; internal set; }
    /// <summary>Events the kernel lost: LOST/DROPPED markers plus entries-written − entries-in-buffer from the header.</summary>
    public long LostEvents { get; internal set; }
    public long LostEventMarkers { get; internal set; }
    public long StackTraces { get; internal set; }
    public long StackFrames { get; internal set; }
    public long? FirstTimestampNs { get; internal set; }
    public long? LastTimestampNs { get; internal set; }
    /// <summary>From the "# entries-in-buffer/entries-written: A/B #P:N" header, when present.</summary>
    public long? HeaderEntriesInBuffer { get; internal set; }
    public long? HeaderEntriesWritten { get; internal set; }
    public int? HeaderCpus { get; internal set; }
    /// <summary>The input could not be opened or read to the end.</summary>
    public string? ReadError { get; internal set; }

    public ReadOnlySpan<long> EventsByKind => _eventsByKind;
    public long EventCount(DmaEventKind kind) => _eventsByKind[(int)kind];
    public long SkippedCount(SkipReason reason) => _skipped[(int)reason];
    public IReadOnlyList<ParseDiagnostic> Diagnostics => _diagnostics;

    /// <summary>Counts of other systems' events by printed name, sorted by name.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> OtherEvents =>
        _otherEvents.Select(kv => KeyValuePair.Create(_strings.Text[kv.Key], kv.Value))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();

    /// <summary>Lines accounted for; equals <see cref="Lines"/> (a test asserts it).</summary>
    public long AccountedLines => Events + _skipped.Sum() + Malformed;

    internal void CountEvent(DmaEventKind kind) { _eventsByKind[(int)kind]++; Events++; }
    internal void Skip(SkipReason reason) => _skipped[(int)reason]++;

    internal void CountOtherEvent(int nameId)
    {
        _skipped[(int)SkipReason.OtherEvent]++;
        _otherEvents[nameId] = _otherEvents.GetValueOrDefault(nameId) + 1;
    }

    internal bool KeepsMoreDiagnostics => _diagnostics.Count < MaxDiagnostics;

    /// <summary>Counts a malformed line; its diagnostic is kept while fewer than <see cref="MaxDiagnostics"/> are.</summary>
    internal void AddMalformed(ParseDiagnostic? d)
    {
        Malformed++;
        if (d is not null && KeepsMoreDiagnostics) _diagnostics.Add(d);
    }

    /// <summary>The input could not be opened or read to the end; what was read stays counted.</summary>
    public void MarkUnreadable(string reason) => ReadError = reason;

    internal void SeeTimestamp(long ns)
    {
        FirstTimestampNs ??= ns;
        LastTimestampNs = ns;
    }
}
