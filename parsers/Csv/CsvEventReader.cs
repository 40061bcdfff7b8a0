using System.Globalization;
using CsvHelper;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Synthetic;
using DmaReplay.Parsers.Text;

namespace DmaReplay.Parsers.Csv;

/// <summary>
/// Streams a CSV file of <see cref="EventSchema"/> (as <see cref="CsvEventWriter"/> writes it) and
/// pushes one <see cref="DmaEvent"/> per row. CsvHelper's reader frames the records and hands
/// each field over as a span of UTF-8; numbers are decoded from those spans and names interned
/// from them, into one reused event, so nothing is allocated per row once the names have been seen.
/// </summary>
/// <remarks>
/// Every row is an event or malformed: a bad value, an unknown kind, a row with fewer or more
/// fields than the header, or broken quoting becomes a diagnostic with the file, line and
/// reason, and reading goes on with the next row. A file without the "#dmareplay-events v1"
/// line, of another schema version, or whose header names a column the schema does not have, is
/// not read at all (the input is marked unreadable with the reason).
/// </remarks>
public sealed class CsvEventReader
{
    private readonly TraceStrings _strings;
    private readonly ITraceEventHandler _handler;
    private readonly DmaEvent _event = new();
    private readonly int[] _column = new int[EventSchema.ColumnCount];
    private int[] _frames = new int[64];
    private InputStatistics _stats = null!;
    private CsvReader _csv = null!;
    private string? _failure;

    public CsvEventReader(TraceStrings strings, ITraceEventHandler handler)
    {
        _strings = strings;
        _handler = handler;
    }

    /// <summary>Reads one input to the end. Never throws for bad content or a read failure; both are recorded in the result.</summary>
    public InputStatistics Read(Stream stream, string inputName, int inputIndex)
    {
        _stats = new InputStatistics(inputName, inputIndex, _strings) { Format = "csv" };
        var head = new HeadStream(stream);
        try
        {
            if (CheckVersionLine(head)) ReadRecords(head);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or CsvFormatException or ZstdSharp.ZstdException or UnauthorizedAccessException)
        {
            _stats.MarkUnreadable($"read failed after line {_stats.Lines}: {ex.Message}");
        }
        _stats.Bytes = head.BytesRead;
        return _stats;
    }

    /// <summary>"#dmareplay-events v1": a CSV of this schema, and which version of it.</summary>
    private bool CheckVersionLine(HeadStream head)
    {
        var line = head.FirstLine();
        var magic = System.Text.Encoding.ASCII.GetBytes(EventSchema.CsvMagic + " v");
        if (!line.StartsWith(magic))
        {
            _stats.MarkUnreadable($"not a dmareplay events CSV: the first line must be '{EventSchema.CsvMagic} v{EventSchema.Version}'");
            return false;
        }
        var version = line[magic.Length..].TrimEnd("\r "u8);
        if (!Utf8Number.TryParseDecimal(version, out ulong v) || v != EventSchema.Version)
        {
            _stats.MarkUnreadable($"events schema version '{System.Text.Encoding.UTF8.GetString(version)}' is not supported (this dmareplay reads v{EventSchema.Version})");
            return false;
        }
        return true;
    }

    private void ReadRecords(Stream stream)
    {
        var options = CsvReaderOptions.Default with
        {
            Separator = ',',
            HasHeader = true,
            CommentPrefix = '#',
            TrackLineNumbers = true,
            AllowLineBreaksInQuotes = true,
            MalformedData = CsvMalformedDataHandling.Skip,
            FieldCountMismatch = CsvFieldCountHandling.Skip,
            OnMalformedRecord = MalformedRecord,
            FormatProvider = CultureInfo.InvariantCulture,
            BufferSize = 1 << 18,
        };
        using var csv = CsvReader.Create(stream, options, leaveOpen: true);
        _csv = csv;
        _stats.Lines = 1; // the version line
        _stats.Skip(SkipReason.Header);
        if (!MapHeader(csv.Headers)) return;
        _stats.Lines++;
        _stats.Skip(SkipReason.Header);
        while (csv.Read())
        {
            _stats.Lines++;
            var e = _event;
            if (!ParseRow(e))
            {
                Malformed(csv.LineNumber, csv.ByteOffset, _failure!, csv.RawRecord);
                continue;
            }
            e.Position = new SourcePosition(_stats.Index, csv.LineNumber, csv.ByteOffset);
            _stats.CountEvent(e.Kind);
            _stats.SeeTimestamp(e.TimestampNs);
            _handler.OnEvent(e);
        }
    }

    private bool MapHeader(IReadOnlyList<string> headers)
    {
        Array.Fill(_column, -1);
        for (int i = 0; i < headers.Count; i++)
        {
            int c = EventSchema.Find(headers[i]);
            if (c < 0)
            {
                _stats.MarkUnreadable($"line 2: column '{headers[i]}' is not in events schema v{EventSchema.Version}");
                return false;
            }
            if (_column[c] >= 0)
            {
                _stats.MarkUnreadable($"line 2: column '{headers[i]}' appears twice");
                return false;
            }
            _column[c] = i;
        }
        if (_column[(int)EventColumn.Kind] < 0 || _column[(int)EventColumn.TimestampNs] < 0)
        {
            _stats.MarkUnreadable("line 2: the header must have the columns 'kind' and 'timestamp_ns'");
            return false;
        }
        return true;
    }

    private void MalformedRecord(CsvMalformedRecord r)
    {
        _stats.Lines++;
        string reason = r.Reason switch
        {
            CsvMalformedReason.FieldCountMismatch => "the row has another number of fields than the header (a missing or extra column)",
            CsvMalformedReason.StrayQuote => "a quote inside an unquoted field",
            CsvMalformedReason.TextAfterClosingQuote => "text after the closing quote of a field",
            CsvMalformedReason.UnterminatedQuote => "a quoted field is never closed",
            _ => "malformed CSV: " + r.Reason,
        };
        Malformed(r.LineNumber, r.ByteOffset, reason, System.Text.Encoding.UTF8.GetBytes(r.RawRecord));
    }

    private void Malformed(long line, long offset, string reason, ReadOnlySpan<byte> raw) =>
        _stats.AddMalformed(_stats.KeepsMoreDiagnostics
            ? new ParseDiagnostic(_stats.Path, line, offset, reason, FtraceTextReader.Excerpt(raw))
            : null);

    private ReadOnlySpan<byte> Field(EventColumn c)
    {
        int i = _column[(int)c];
        return i < 0 ? default : _csv.GetSpan(i);
    }

    /// <summary>A text field with the writer's injection guard undone (one leading ' dropped).</summary>
    private ReadOnlySpan<byte> TextField(EventColumn c)
    {
        var s = Field(c);
        return !s.IsEmpty && s[0] == '\'' ? s[1..] : s;
    }

    private bool ParseRow(DmaEvent e)
    {
        _failure = null;
        e.Reset();
        int kind = EventNames.Find(Field(EventColumn.Kind));
        if (kind < 0) return Fail(EventColumn.Kind, "unknown event kind");
        e.Kind = (DmaEventKind)kind;
        e.TimestampNs = (long)Dec(EventColumn.TimestampNs, long.MaxValue);
        e.Cpu = (int)Dec(EventColumn.Cpu, int.MaxValue);
        e.Pid = (int)Dec(EventColumn.Pid, int.MaxValue);
        e.Tgid = Int(EventColumn.Tgid, -1);
        e.Task = _strings.Tasks.Intern(TextField(EventColumn.Task));
        if (!EventText.TryParseLatencyFlags(Field(EventColumn.Flags), out var flags, out byte preempt, out byte migrate))
            return Fail(EventColumn.Flags, "bad latency flags");
        e.Flags = flags;
        e.PreemptDepth = preempt;
        e.MigrateDisable = migrate;
        var device = TextField(EventColumn.Device);
        e.Device = device.IsEmpty ? -1 : _strings.Devices.Intern(device);
        if (!EventText.TryParseDirection(Field(EventColumn.Dir), out var dir, out uint rawDir)) return Fail(EventColumn.Dir, "unknown direction");
        e.Direction = dir;
        e.RawDirection = rawDir;
        e.DmaAddr = Hex(EventColumn.DmaAddr);
        e.PhysAddr = Hex(EventColumn.PhysAddr);
        e.Size = Dec(EventColumn.Size, ulong.MaxValue);
        e.VirtAddr = Hex(EventColumn.VirtAddr);
        e.GfpText = Text(e.Kind, EventColumn.Gfp);
        if (e.GfpText >= 0) e.Gfp = GfpNames.Parse(_strings.Text.Utf8(e.GfpText));
        e.Attrs = EventText.ParseAttrs(Field(EventColumn.Attrs));
        e.Error = Int(EventColumn.Error, 0);
        e.Nents = (int)Dec(EventColumn.Nents, int.MaxValue);
        e.Ents = (int)Dec(EventColumn.Ents, int.MaxValue);
        e.Truncated = Dec(EventColumn.Truncated, 1) != 0;
        List(EventColumn.PhysAddrs, e, SgArray.Phys, hex: true);
        List(EventColumn.DmaAddrs, e, SgArray.Dma, hex: true);
        List(EventColumn.Lengths, e, SgArray.Lengths, hex: false);
        e.DmaMask = Hex(EventColumn.DmaMask);
        if (!EventText.TryParseBounceReason(Field(EventColumn.Bounce), out var bounce)) return Fail(EventColumn.Bounce, "expected NORMAL, FORCE or NO_FORCE");
        e.BounceReason = bounce;
        e.UnmappedSize = Dec(EventColumn.UnmappedSize, ulong.MaxValue);
        e.GroupId = Int(EventColumn.GroupId, -1);
        e.FaultFlags = Int(EventColumn.FaultFlags, 0);
        e.Driver = Text(e.Kind, EventColumn.Driver);
        e.Timeline = Text(e.Kind, EventColumn.Timeline);
        e.Context = (uint)Dec(EventColumn.Context, uint.MaxValue);
        e.Seqno = Dec(EventColumn.Seqno, ulong.MaxValue);
        e.Pool = Text(e.Kind, EventColumn.Pool);
        e.Align = Dec(EventColumn.Align, ulong.MaxValue);
        e.Boundary = Dec(EventColumn.Boundary, ulong.MaxValue);
        e.Managed = Dec(EventColumn.Managed, 1) != 0;
        e.KernelStack = EventText.InternStack(_strings, TextField(EventColumn.KernelStack), ref _frames);
        e.UserStack = EventText.InternStack(_strings, TextField(EventColumn.UserStack), ref _frames);
        return _failure is null;
    }

    /// <summary>
    /// A text of <see cref="TraceStrings.Text"/>: -1 when empty, unless the kind prints the field
    /// (then an empty text is the empty name, as the ftrace reader interns it).
    /// </summary>
    private int Text(DmaEventKind kind, EventColumn c)
    {
        var s = TextField(c);
        return s.IsEmpty && !EventSchema.IsPrinted(kind, c) ? -1 : _strings.Text.Intern(s);
    }

    private ulong Hex(EventColumn c)
    {
        var s = Field(c);
        if (s.IsEmpty) return 0;
        if (Utf8Number.TryParseHex(s, out ulong v)) return v;
        Fail(c, "bad hex value");
        return 0;
    }

    private ulong Dec(EventColumn c, ulong max)
    {
        var s = Field(c);
        if (s.IsEmpty) return 0;
        if (Utf8Number.TryParseDecimal(s, out ulong v) && v <= max) return v;
        Fail(c, "bad number");
        return 0;
    }

    private int Int(EventColumn c, int empty)
    {
        var s = Field(c);
        if (s.IsEmpty) return empty;
        if (Utf8Number.TryParseInt(s, out int v)) return v;
        Fail(c, "bad integer");
        return 0;
    }

    /// <summary>Values separated by single spaces (addresses hex, lengths decimal) into one of the event's sg arrays.</summary>
    private void List(EventColumn c, DmaEvent e, SgArray which, bool hex)
    {
        var s = Field(c);
        ref var values = ref e.Values(which);
        values.Count = 0;
        while (!s.IsEmpty)
        {
            int sp = s.IndexOf((byte)' ');
            var token = sp < 0 ? s : s[..sp];
            s = sp < 0 ? default : s[(sp + 1)..];
            ulong v;
            if (!(hex ? Utf8Number.TryParseHex(token, out v) : Utf8Number.TryParseDecimal(token, out v)))
            {
                Fail(c, hex ? "bad hex value in the list" : "bad number in the list");
                return;
            }
            values.Append(v);
        }
    }

    private bool Fail(EventColumn c, string reason)
    {
        _failure ??= $"{EventSchema.Names[(int)c]}: {reason} '{FtraceTextReader.Excerpt(Field(c))}'";
        return false;
    }
}
