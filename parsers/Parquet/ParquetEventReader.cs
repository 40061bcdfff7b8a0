using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Synthetic;
using Parquet;
using Parquet.Schema;

namespace DmaReplay.Parsers.Parquet;

/// <summary>
/// Reads a Parquet file of <see cref="EventSchema"/> (as <see cref="ParquetEventWriter"/> writes
/// it) one row group at a time: each column into a preallocated array, each name dictionary
/// mapped once to interned ids, then one reused <see cref="DmaEvent"/> filled per row from the
/// arrays. Memory is one row group whatever the length of the file.
/// </summary>
/// <remarks>
/// A file without the "dmareplay.schema" metadata, of another version, with a column the schema
/// does not have or of another type, is not read (the input is marked unreadable with the
/// reason). A row whose kind or name id is not in its row group's dictionary is malformed (its
/// line is the row number, counted from 1) and reading goes on. Parquet needs to seek to its
/// footer, so the input must be a file, not standard input or a compressed stream.
/// </remarks>
public sealed class ParquetEventReader
{
    private readonly TraceStrings _strings;
    private readonly ITraceEventHandler _handler;
    private readonly ParquetColumns _c = new(writing: false);
    private readonly DmaEvent _event = new();
    private readonly DataField?[] _fileFields = new DataField?[EventSchema.ColumnCount];
    private int[] _frames = new int[64];
    private InputStatistics _stats = null!;

    // Per row group: dictionary id → interned id (the kinds map to the enum value).
    private int[] _kinds = [], _tasks = [], _devices = [], _gfp = [], _drivers = [], _timelines = [], _pools = [], _kernelStacks = [], _userStacks = [];
    private GfpFlags[] _gfpBits = [];

    public ParquetEventReader(TraceStrings strings, ITraceEventHandler handler)
    {
        _strings = strings;
        _handler = handler;
    }

    /// <summary>Reads a seekable stream to the end. Never throws for bad content or a read failure; both are recorded in the result.</summary>
    public InputStatistics Read(Stream stream, string inputName, int inputIndex)
    {
        _stats = new InputStatistics(inputName, inputIndex, _strings) { Format = "parquet" };
        try
        {
            if (!stream.CanSeek)
            {
                _stats.MarkUnreadable("a Parquet input must be a file (the reader seeks to its footer), not a pipe or a compressed stream");
                return _stats;
            }
            _stats.Bytes = stream.Length;
            var reader = ParquetReader.CreateAsync(stream, new ParquetOptions(), leaveStreamOpen: true).GetAwaiter().GetResult();
            try
            {
                if (!CheckSchema(reader)) return _stats;
                for (int g = 0; g < reader.RowGroupCount; g++) ReadRowGroup(reader.OpenRowGroupReader(g));
            }
            finally
            {
                reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
                foreach (var column in _c.All) column.Release();
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException or InvalidOperationException or UnauthorizedAccessException)
        {
            _stats.MarkUnreadable($"read failed after row {_stats.Lines}: {ex.Message}");
        }
        return _stats;
    }

    private bool CheckSchema(ParquetReader reader)
    {
        if (!reader.CustomMetadata.TryGetValue(EventSchema.ParquetVersionKey, out var version))
        {
            _stats.MarkUnreadable($"not a dmareplay events Parquet file: no '{EventSchema.ParquetVersionKey}' metadata");
            return false;
        }
        if (version != EventSchema.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            _stats.MarkUnreadable($"events schema version '{version}' is not supported (this dmareplay reads v{EventSchema.Version})");
            return false;
        }
        Array.Clear(_fileFields);
        foreach (var f in reader.Schema.DataFields)
        {
            int c = EventSchema.Find(f.Name);
            if (c < 0)
            {
                _stats.MarkUnreadable($"column '{f.Name}' is not in events schema v{EventSchema.Version}");
                return false;
            }
            var expected = _c.All[c].Field;
            if (f.ClrType != expected.ClrType || f.IsArray != expected.IsArray)
            {
                _stats.MarkUnreadable($"column '{f.Name}' is {f.ClrType.Name}{(f.IsArray ? "[]" : "")}, the schema has {expected.ClrType.Name}{(expected.IsArray ? "[]" : "")}");
                return false;
            }
            _fileFields[c] = f;
        }
        if (_fileFields[(int)EventColumn.Kind] is null || _fileFields[(int)EventColumn.TimestampNs] is null)
        {
            _stats.MarkUnreadable("the file must have the columns 'kind' and 'timestamp_ns'");
            return false;
        }
        return true;
    }

    private void ReadRowGroup(ParquetRowGroupReader rg)
    {
        int rows = checked((int)rg.RowCount);
        if (rows > ParquetColumns.RowGroupSize)
            throw new InvalidDataException($"a row group of {rows} rows (this reader takes up to {ParquetColumns.RowGroupSize})");
        foreach (var column in _c.All)
        {
            var field = _fileFields[(int)column.Id];
            if (field is not null) column.ReadAsync(rg, field, rows).AsTask().GetAwaiter().GetResult();
            else column.Default();
        }
        MapDictionaries();
        if (IdsInRange(rows)) FillRows<Unchecked>(rows);
        else FillRows<Checked>(rows);
    }

    /// <summary>
    /// Whether every kind and name id of the row group is in its dictionary (and every kind
    /// known): one vector scan per decoded column, so that rows are filled without a test per id
    /// (a file this writer made always passes; any other is filled row by row with the tests).
    /// </summary>
    private bool IdsInRange(int rows)
    {
        var c = _c;
        int kinds = c.Kind.Dictionary!.Count;
        for (int k = 0; k < kinds; k++)
            if (_kinds[k] < 0) return false;
        if (!InRange(c.Kind, 0, kinds - 1, rows)) return false;
        foreach (var column in (ReadOnlySpan<Column<int>>)[c.Task, c.Device, c.Gfp, c.Driver, c.Timeline, c.Pool, c.KernelStack, c.UserStack])
            if (!InRange(column, -1, column.Dictionary!.Count - 1, rows)) return false;
        return true;
    }

    private static bool InRange(Column<int> column, int low, int high, int rows) =>
        column.IsConstant ? column.Constant >= low && column.Constant <= high
            : high >= low && column.Values.AsSpan(0, rows).IndexOfAnyExceptInRange(low, high) < 0;

    private void FillRows<TChecks>(int rows) where TChecks : struct, IChecks
    {
        long first = _stats.Lines;
        for (int i = 0; i < rows; i++)
        {
            long row = first + i + 1;
            _stats.Lines = row;
            if (Fill<TChecks>(_event, i, row, out string? failure))
            {
                _stats.CountEvent(_event.Kind);
                _stats.SeeTimestamp(_event.TimestampNs);
                _handler.OnEvent(_event);
            }
            else
            {
                Malformed(row, failure!);
            }
        }
    }

    private void MapDictionaries()
    {
        Map(_c.Kind, ref _kinds, name => DmaEventKinds.TryParse(name, out var k) ? (int)k : -1);
        Map(_c.Task, ref _tasks, _strings.Tasks.Intern);
        Map(_c.Device, ref _devices, _strings.Devices.Intern);
        Map(_c.Gfp, ref _gfp, _strings.Text.Intern);
        if (_gfpBits.Length < _gfp.Length) _gfpBits = new GfpFlags[_gfp.Length];
        for (int i = 0; i < _c.Gfp.Dictionary!.Count; i++) _gfpBits[i] = GfpNames.Parse(_strings.Text.Utf8(_gfp[i]));
        Map(_c.Driver, ref _drivers, _strings.Text.Intern);
        Map(_c.Timeline, ref _timelines, _strings.Text.Intern);
        Map(_c.Pool, ref _pools, _strings.Text.Intern);
        Map(_c.KernelStack, ref _kernelStacks, InternStack);
        Map(_c.UserStack, ref _userStacks, InternStack);
    }

    private int InternStack(string text) => EventText.InternStack(_strings, System.Text.Encoding.UTF8.GetBytes(text), ref _frames);

    private static void Map(Column<int> column, ref int[] ids, Func<string, int> intern)
    {
        var dictionary = column.Dictionary!;
        if (ids.Length < dictionary.Count) ids = new int[Math.Max(dictionary.Count, ids.Length * 2)];
        for (int i = 0; i < dictionary.Count; i++) ids[i] = intern(dictionary[i]);
    }

    private static bool Fail(string column, int value, out string failure)
    {
        failure = $"{column}: id {value} is not in the row group's dictionary";
        return false;
    }

    /// <summary>Row <paramref name="i"/> of the row group into <paramref name="e"/>; every field is set, so no reset is needed.</summary>
    private bool Fill<TChecks>(DmaEvent e, int i, long row, out string? failure) where TChecks : struct, IChecks
    {
        failure = null;
        var c = _c;
        int kindId = c.Kind[i];
        if (TChecks.On && (uint)kindId >= (uint)c.Kind.Dictionary!.Count) return Fail("kind", kindId, out failure);
        int kind = _kinds[kindId];
        if (TChecks.On && kind < 0)
        {
            failure = $"kind: unknown event kind '{c.Kind.Dictionary![kindId]}'";
            return false;
        }
        e.Kind = (DmaEventKind)kind;
        e.Position = new SourcePosition(_stats.Index, row, 0);
        e.TimestampNs = c.TimestampNs[i];
        e.Cpu = c.Cpu[i];
        e.Pid = c.Pid[i];
        e.Tgid = c.Tgid[i];
        if (!Name<TChecks>(c.Task, _tasks, i, out int task, out failure)) return false;
        e.Task = task >= 0 ? task : _strings.Tasks.Intern(""u8); // as the text reader: every event has a comm
        int flags = c.Flags[i];
        e.Flags = (TraceContextFlags)(ushort)flags;
        e.PreemptDepth = (byte)(flags >> 16);
        e.MigrateDisable = (byte)(flags >> 24);
        if (!Name<TChecks>(c.Device, _devices, i, out int device, out failure)) return false;
        e.Device = device;
        EventText.FromRawDirection(c.Dir[i], out var dir, out uint raw);
        e.Direction = dir;
        e.RawDirection = raw;
        e.DmaAddr = c.DmaAddr[i];
        e.PhysAddr = c.PhysAddr[i];
        e.Size = c.Size[i];
        e.VirtAddr = c.VirtAddr[i];
        int gfpId = c.Gfp[i];
        if (!Name<TChecks>(c.Gfp, _gfp, i, out int gfp, out failure)) return false;
        e.GfpText = gfp;
        e.Gfp = gfp < 0 ? GfpFlags.None : _gfpBits[gfpId];
        e.Attrs = (DmaAttrs)c.Attrs[i];
        e.Error = c.Error[i];
        e.Nents = c.Nents[i];
        e.Ents = c.Ents[i];
        e.Truncated = c.Truncated[i];
        SetArray(e, SgArray.Phys, c.PhysAddrs, i);
        SetArray(e, SgArray.Dma, c.DmaAddrs, i);
        SetArray(e, SgArray.Lengths, c.Lengths, i);
        e.DmaMask = c.DmaMask[i];
        e.BounceReason = (SwiotlbBounceReason)c.Bounce[i];
        e.UnmappedSize = c.UnmappedSize[i];
        e.GroupId = c.GroupId[i];
        e.FaultFlags = c.FaultFlags[i];
        if (!Name<TChecks>(c.Driver, _drivers, i, out int driver, out failure)) return false;
        e.Driver = driver;
        if (!Name<TChecks>(c.Timeline, _timelines, i, out int timeline, out failure)) return false;
        e.Timeline = timeline;
        e.Context = c.Context[i];
        e.Seqno = c.Seqno[i];
        if (!Name<TChecks>(c.Pool, _pools, i, out int pool, out failure)) return false;
        e.Pool = pool;
        e.Align = c.Align[i];
        e.Boundary = c.Boundary[i];
        e.Managed = c.Managed[i];
        if (!Name<TChecks>(c.KernelStack, _kernelStacks, i, out int kernelStack, out failure)) return false;
        e.KernelStack = kernelStack;
        if (!Name<TChecks>(c.UserStack, _userStacks, i, out int userStack, out failure)) return false;
        e.UserStack = userStack;
        return true;
    }

    /// <summary>Row <paramref name="i"/>'s list into the event's array, copied as one block.</summary>
    private static void SetArray(DmaEvent e, SgArray which, ListColumn column, int i)
    {
        ref var values = ref e.Values(which);
        if (column.AllEmpty)
        {
            values.Count = 0;
            return;
        }
        var row = column.Row(i);
        while (values.Items.Length < row.Length) values.Grow();
        row.CopyTo(values.Items);
        values.Count = row.Length;
    }

    /// <summary>The interned id of a name column's value in row <paramref name="i"/>: -1 for none.</summary>
    private static bool Name<TChecks>(Column<int> column, int[] ids, int i, out int id, out string? failure) where TChecks : struct, IChecks
    {
        failure = null;
        int v = column[i];
        id = -1;
        if (v < 0) return true;
        if (TChecks.On && v >= column.Dictionary!.Count) return Fail(column.Name, v, out failure!);
        id = ids[v];
        return true;
    }

    /// <summary>Whether <see cref="Fill"/> tests each id against its dictionary: a type argument, so that the JIT compiles each way apart.</summary>
    private interface IChecks
    {
        static abstract bool On { get; }
    }

    private readonly struct Checked : IChecks
    {
        public static bool On => true;
    }

    private readonly struct Unchecked : IChecks
    {
        public static bool On => false;
    }

    private void Malformed(long row, string reason) =>
        _stats.AddMalformed(_stats.KeepsMoreDiagnostics ? new ParseDiagnostic(_stats.Path, row, 0, reason, $"row {row}") : null);
}
