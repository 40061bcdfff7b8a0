using DmaReplay.Parsers.Synthetic;
using Parquet;
using Parquet.Schema;

namespace DmaReplay.Parsers.Parquet;

/// <summary>
/// The Parquet columns of <see cref="EventSchema"/>: their types, and one buffer per column the
/// size of a row group, which the writer fills row by row and the reader column by column.
/// </summary>
/// <remarks>
/// Names are not Parquet strings: Parquet.Net makes a string object of every string value it
/// reads, which would cost more than the rest of a row. A name column (kind, task, device, gfp,
/// driver, timeline, pool and the stacks) holds Int32 indices into a dictionary that the column
/// chunk carries in its key-value metadata (<see cref="DictionaryKey"/>, a JSON array of the
/// row group's distinct names), -1 for none: Parquet's own dictionary encoding, made visible, so
/// a reader maps each row group's few names once and then reads integers.
/// </remarks>
internal sealed class ParquetColumns
{
    /// <summary>Rows per row group: written as the stream goes, read one at a time.</summary>
    public const int RowGroupSize = 1 << 16;

    /// <summary>The column-chunk metadata key of a name column's dictionary.</summary>
    public const string DictionaryKey = "dmareplay.dictionary";

    public readonly Column<int> Kind = new(EventColumn.Kind, dictionary: true, missing: -1);
    public readonly Column<long> TimestampNs = new(EventColumn.TimestampNs);
    public readonly Column<int> Cpu = new(EventColumn.Cpu);
    public readonly Column<int> Pid = new(EventColumn.Pid);
    public readonly Column<int> Tgid = new(EventColumn.Tgid, missing: -1);
    public readonly Column<int> Task = new(EventColumn.Task, dictionary: true, missing: -1);
    public readonly Column<int> Flags = new(EventColumn.Flags);
    public readonly Column<int> Device = new(EventColumn.Device, dictionary: true, missing: -1);
    public readonly Column<int> Dir = new(EventColumn.Dir, missing: -1);
    public readonly Column<ulong> DmaAddr = new(EventColumn.DmaAddr);
    public readonly Column<ulong> PhysAddr = new(EventColumn.PhysAddr);
    public readonly Column<ulong> Size = new(EventColumn.Size);
    public readonly Column<ulong> VirtAddr = new(EventColumn.VirtAddr);
    public readonly Column<int> Gfp = new(EventColumn.Gfp, dictionary: true, missing: -1);
    public readonly Column<ulong> Attrs = new(EventColumn.Attrs);
    public readonly Column<int> Error = new(EventColumn.Error);
    public readonly Column<int> Nents = new(EventColumn.Nents);
    public readonly Column<int> Ents = new(EventColumn.Ents);
    public readonly Column<bool> Truncated = new(EventColumn.Truncated);
    public readonly ListColumn PhysAddrs = new(EventColumn.PhysAddrs);
    public readonly ListColumn DmaAddrs = new(EventColumn.DmaAddrs);
    public readonly ListColumn Lengths = new(EventColumn.Lengths);
    public readonly Column<ulong> DmaMask = new(EventColumn.DmaMask);
    public readonly Column<int> Bounce = new(EventColumn.Bounce);
    public readonly Column<ulong> UnmappedSize = new(EventColumn.UnmappedSize);
    public readonly Column<int> GroupId = new(EventColumn.GroupId, missing: -1);
    public readonly Column<int> FaultFlags = new(EventColumn.FaultFlags);
    public readonly Column<int> Driver = new(EventColumn.Driver, dictionary: true, missing: -1);
    public readonly Column<int> Timeline = new(EventColumn.Timeline, dictionary: true, missing: -1);
    public readonly Column<uint> Context = new(EventColumn.Context);
    public readonly Column<ulong> Seqno = new(EventColumn.Seqno);
    public readonly Column<int> Pool = new(EventColumn.Pool, dictionary: true, missing: -1);
    public readonly Column<ulong> Align = new(EventColumn.Align);
    public readonly Column<ulong> Boundary = new(EventColumn.Boundary);
    public readonly Column<bool> Managed = new(EventColumn.Managed);
    public readonly Column<int> KernelStack = new(EventColumn.KernelStack, dictionary: true, missing: -1);
    public readonly Column<int> UserStack = new(EventColumn.UserStack, dictionary: true, missing: -1);

    /// <summary>Every column in schema order.</summary>
    public readonly ParquetColumn[] All;

    /// <param name="writing">The writer's columns: each with a row group's buffer of its own (a reader's are rented as it needs them).</param>
    public ParquetColumns(bool writing)
    {
        All =
        [
            Kind, TimestampNs, Cpu, Pid, Tgid, Task, Flags, Device, Dir, DmaAddr, PhysAddr, Size, VirtAddr, Gfp, Attrs,
            Error, Nents, Ents, Truncated, PhysAddrs, DmaAddrs, Lengths, DmaMask, Bounce, UnmappedSize, GroupId,
            FaultFlags, Driver, Timeline, Context, Seqno, Pool, Align, Boundary, Managed, KernelStack, UserStack,
        ];
        if (!writing) return;
        foreach (var column in All) column.AllocateForWriting();
    }

    public ParquetSchema Schema() => new(All.Select(c => (Field)c.Field));

    /// <summary>
    /// The flags column: the <see cref="Model.TraceContextFlags"/> bits in the low 16 bits, the
    /// preempt depth in bits 16–23 and migrate-disable in bits 24–31.
    /// </summary>
    public static int PackFlags(Model.TraceContextFlags flags, byte preempt, byte migrate) =>
        (ushort)flags | preempt << 16 | migrate << 24;
}

/// <summary>One column of the schema and its row-group buffer.</summary>
internal abstract class ParquetColumn(EventColumn column)
{
    public EventColumn Id { get; } = column;
    public string Name => EventSchema.Names[(int)Id];
    public abstract DataField Field { get; }
    public abstract Task WriteAsync(ParquetRowGroupWriter rg, int rows);

    /// <summary>
    /// Timestamps and addresses: values LZ4 shrinks less than 3 times, written uncompressed when
    /// they vary in a row group (<see cref="ParquetEventWriter"/>).
    /// </summary>
    public bool HighEntropy => Id is EventColumn.TimestampNs or EventColumn.DmaAddr or EventColumn.PhysAddr or EventColumn.VirtAddr
        or EventColumn.PhysAddrs or EventColumn.DmaAddrs;

    /// <summary>Writing: whether the first <paramref name="rows"/> rows hold one value (for a list: every list is empty).</summary>
    public abstract bool HoldsOneValue(int rows);
    public abstract ValueTask ReadAsync(ParquetRowGroupReader rg, DataField fileField, int rows);

    /// <summary>The writer's buffers: one row group.</summary>
    public abstract void AllocateForWriting();

    /// <summary>Reading: a column the file leaves out, every row its default.</summary>
    public abstract void Default();

    /// <summary>Reading: gives the pooled buffers back (the next read rents them again).</summary>
    public abstract void Release();

    /// <summary>A buffer of at least <paramref name="length"/>: the writer's are its own, the reader's rented and given back by <see cref="Release"/>.</summary>
    protected static void Ensure<T>(ref T[] buffer, int length, bool keep = false)
    {
        if (buffer.Length >= length) return;
        var larger = System.Buffers.ArrayPool<T>.Shared.Rent(Math.Max(length, ParquetColumns.RowGroupSize));
        if (keep) buffer.AsSpan().CopyTo(larger);
        Return(ref buffer);
        buffer = larger;
    }

    protected static void Return<T>(ref T[] buffer)
    {
        if (buffer.Length > 0) System.Buffers.ArrayPool<T>.Shared.Return(buffer);
        buffer = [];
    }
}

/// <summary>
/// A required column of one value per row. In a reader a row group's column is either constant
/// (its statistics have min = max, or the file leaves it out: <see cref="IsConstant"/>, no buffer
/// touched) or decoded into <see cref="Values"/>; <see cref="this[int]"/> reads either.
/// </summary>
internal sealed class Column<T>(EventColumn column, bool dictionary = false, T missing = default) : ParquetColumn(column) where T : struct
{
    /// <summary>The row group's values: the writer's own array, or a reader's pooled one (empty until a chunk needs decoding).</summary>
    public T[] Values = [];

    /// <summary>Reading: the row group's column holds one value, <see cref="Constant"/>.</summary>
    public bool IsConstant;
    public T Constant;

    /// <summary>For a name column: the row group's dictionary, written into the chunk's metadata.</summary>
    public readonly List<string>? Dictionary = dictionary ? [] : null;

    public override DataField Field { get; } = new DataField<T>(EventSchema.Names[(int)column], false);

    public T this[int row]
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        get => IsConstant ? Constant : Values[row];
    }

    public override void AllocateForWriting() => Values = new T[ParquetColumns.RowGroupSize];

    public override bool HoldsOneValue(int rows) => rows == 0 || Values.AsSpan(1, rows - 1).IndexOfAnyExcept(Values[0]) < 0;

    public override Task WriteAsync(ParquetRowGroupWriter rg, int rows)
    {
        Dictionary<string, string>? metadata = Dictionary is null ? null
            : new() { [ParquetColumns.DictionaryKey] = System.Text.Json.JsonSerializer.Serialize(Dictionary) };
        return rg.WriteAsync<T>(Field, Values.AsMemory(0, rows), null, metadata!, CancellationToken.None);
    }

    public override async ValueTask ReadAsync(ParquetRowGroupReader rg, DataField fileField, int rows)
    {
        // Most columns hold one value in a row group (a field the group's kinds do not print):
        // its min and max statistics say so, and the column need not be decoded.
        if (rg.GetStatistics(fileField) is { NullCount: null or 0, MinValue: T min, MaxValue: T max } && EqualityComparer<T>.Default.Equals(min, max))
        {
            IsConstant = true;
            Constant = min;
        }
        else
        {
            IsConstant = false;
            Ensure(ref Values, rows);
            await rg.ReadAsync<T>(fileField, Values.AsMemory(0, rows), null);
        }
        if (Dictionary is null) return;
        Dictionary.Clear();
        if (rg.GetMetadata(fileField)?.MetaData?.KeyValueMetadata is { } pairs)
            foreach (var pair in pairs)
                if (pair.Key == ParquetColumns.DictionaryKey && pair.Value is not null)
                    Dictionary.AddRange(System.Text.Json.JsonSerializer.Deserialize<string[]>(pair.Value) ?? []);
    }

    public override void Default()
    {
        IsConstant = true;
        Constant = missing;
        Dictionary?.Clear();
    }

    public override void Release() => Return(ref Values);
}

/// <summary>
/// An sg array: a repeated UInt64 column (definition level 0 for an empty list, 1 for a value;
/// repetition level 0 starts a row's list). The buffers hold a row group's values and levels.
/// </summary>
internal sealed class ListColumn(EventColumn column) : ParquetColumn(column)
{
    public ulong[] Values = [];
    public int[] Definition = [];
    public int[] Repetition = [];
    /// <summary>Reading: where each row's values start in <see cref="Values"/> (one more entry than rows).</summary>
    public int[] RowStart = [];
    /// <summary>Reading: every row's list is empty (the chunk was not decoded).</summary>
    public bool AllEmpty;
    public int ValueCount, LevelCount;

    public override DataField Field { get; } = new(EventSchema.Names[(int)column], typeof(ulong), false, true);

    /// <summary>A row group of one-element lists, grown as needed.</summary>
    public override void AllocateForWriting()
    {
        Values = new ulong[ParquetColumns.RowGroupSize];
        Definition = new int[ParquetColumns.RowGroupSize];
        Repetition = new int[ParquetColumns.RowGroupSize];
    }

    public void Clear() => ValueCount = LevelCount = 0;

    public override bool HoldsOneValue(int rows) => ValueCount == 0;

    /// <summary>Appends one row's list.</summary>
    public void Add(ReadOnlySpan<ulong> values)
    {
        if (values.IsEmpty)
        {
            Level(0, 0);
            return;
        }
        if (ValueCount + values.Length > Values.Length) Array.Resize(ref Values, Math.Max(Values.Length * 2, ValueCount + values.Length));
        for (int i = 0; i < values.Length; i++)
        {
            Values[ValueCount++] = values[i];
            Level(1, i == 0 ? 0 : 1);
        }
    }

    private void Level(int definition, int repetition)
    {
        if (LevelCount == Definition.Length)
        {
            Array.Resize(ref Definition, LevelCount * 2);
            Array.Resize(ref Repetition, LevelCount * 2);
        }
        Definition[LevelCount] = definition;
        Repetition[LevelCount++] = repetition;
    }

    public override Task WriteAsync(ParquetRowGroupWriter rg, int rows) =>
        rg.WriteAllPartsAsync<ulong>(Field, Values.AsMemory(0, ValueCount), Definition.AsMemory(0, LevelCount),
            Repetition.AsMemory(0, LevelCount), CancellationToken.None);

    public override async ValueTask ReadAsync(ParquetRowGroupReader rg, DataField fileField, int rows)
    {
        int levels = (int)(rg.GetMetadata(fileField)?.MetaData?.NumValues ?? rows);
        // One level per row and every one a null: all lists are empty, nothing to decode.
        AllEmpty = levels == rows && rg.GetStatistics(fileField) is { NullCount: long nulls } && nulls == rows;
        if (AllEmpty) return;
        Ensure(ref Definition, levels);
        Ensure(ref Repetition, levels);
        Ensure(ref Values, levels);
        Ensure(ref RowStart, rows + 1);
        await rg.ReadRawAsync<ulong>(fileField, Values.AsMemory(0, levels), Definition.AsMemory(0, levels), Repetition.AsMemory(0, levels));
        // A row's list starts at repetition level 0: with definition level 0 it is empty (its one
        // level has no value), else its values run to the next 0 (level 1 continues the list, and
        // each such level is a value: the elements are required). So a row's first value is its
        // first level less the empty lists before it, and runs of 1 are skipped a vector at a time.
        var repetition = Repetition.AsSpan(0, levels);
        var definition = Definition.AsSpan(0, levels);
        var rowStart = RowStart.AsSpan(0, rows + 1);
        int row = 0, empty = 0, max = fileField.MaxDefinitionLevel;
        for (int i = 0; i < levels;)
        {
            if (repetition[i] != 0) throw new InvalidDataException($"column '{Name}': a list continues where a row must start");
            if (row == rows) throw new InvalidDataException($"column '{Name}' has more lists than the row group has rows");
            rowStart[row++] = i - empty;
            if (definition[i] != max)
            {
                empty++;
                i++;
                continue;
            }
            int end = repetition[(i + 1)..].IndexOfAnyExcept(1);
            i = end < 0 ? levels : i + 1 + end;
        }
        if (row != rows) throw new InvalidDataException($"column '{Name}' has {row} lists for {rows} rows");
        rowStart[rows] = levels - empty;
    }

    public override void Default() => AllEmpty = true;

    public override void Release()
    {
        Return(ref Values);
        Return(ref Definition);
        Return(ref Repetition);
        Return(ref RowStart);
    }

    public ReadOnlySpan<ulong> Row(int row) => AllEmpty ? [] : Values.AsSpan(RowStart[row], RowStart[row + 1] - RowStart[row]);
}
