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

    public readonly Column<int> Kind = new(EventColumn.Kind, dictionary: true);
    public readonly Column<long> TimestampNs = new(EventColumn.TimestampNs);
    public readonly Column<int> Cpu = new(EventColumn.Cpu);
    public readonly Column<int> Pid = new(EventColumn.Pid);
    public readonly Column<int> Tgid = new(EventColumn.Tgid);
    public readonly Column<int> Task = new(EventColumn.Task, dictionary: true);
    public readonly Column<int> Flags = new(EventColumn.Flags);
    public readonly Column<int> Device = new(EventColumn.Device, dictionary: true);
    public readonly Column<int> Dir = new(EventColumn.Dir);
    public readonly Column<ulong> DmaAddr = new(EventColumn.DmaAddr);
    public readonly Column<ulong> PhysAddr = new(EventColumn.PhysAddr);
    public readonly Column<ulong> Size = new(EventColumn.Size);
    public readonly Column<ulong> VirtAddr = new(EventColumn.VirtAddr);
    public readonly Column<int> Gfp = new(EventColumn.Gfp, dictionary: true);
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
    public readonly Column<int> GroupId = new(EventColumn.GroupId);
    public readonly Column<int> FaultFlags = new(EventColumn.FaultFlags);
    public readonly Column<int> Driver = new(EventColumn.Driver, dictionary: true);
    public readonly Column<int> Timeline = new(EventColumn.Timeline, dictionary: true);
    public readonly Column<uint> Context = new(EventColumn.Context);
    public readonly Column<ulong> Seqno = new(EventColumn.Seqno);
    public readonly Column<int> Pool = new(EventColumn.Pool, dictionary: true);
    public readonly Column<ulong> Align = new(EventColumn.Align);
    public readonly Column<ulong> Boundary = new(EventColumn.Boundary);
    public readonly Column<bool> Managed = new(EventColumn.Managed);
    public readonly Column<int> KernelStack = new(EventColumn.KernelStack, dictionary: true);
    public readonly Column<int> UserStack = new(EventColumn.UserStack, dictionary: true);

    /// <summary>Every column in schema order.</summary>
    public readonly ParquetColumn[] All;

    public ParquetColumns()
    {
        All =
        [
            Kind, TimestampNs, Cpu, Pid, Tgid, Task, Flags, Device, Dir, DmaAddr, PhysAddr, Size, VirtAddr, Gfp, Attrs,
            Error, Nents, Ents, Truncated, PhysAddrs, DmaAddrs, Lengths, DmaMask, Bounce, UnmappedSize, GroupId,
            FaultFlags, Driver, Timeline, Context, Seqno, Pool, Align, Boundary, Managed, KernelStack, UserStack,
        ];
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
    public abstract Task ReadAsync(ParquetRowGroupReader rg, DataField fileField, int rows);
}

/// <summary>A required column of one value per row.</summary>
internal sealed class Column<T>(EventColumn column, bool dictionary = false) : ParquetColumn(column) where T : struct
{
    public readonly T[] Values = new T[ParquetColumns.RowGroupSize];

    /// <summary>For a name column: the row group's dictionary, written into the chunk's metadata.</summary>
    public readonly List<string>? Dictionary = dictionary ? [] : null;

    public override DataField Field { get; } = new DataField<T>(EventSchema.Names[(int)column], false);

    public override Task WriteAsync(ParquetRowGroupWriter rg, int rows)
    {
        Dictionary<string, string>? metadata = Dictionary is null ? null
            : new() { [ParquetColumns.DictionaryKey] = System.Text.Json.JsonSerializer.Serialize(Dictionary) };
        return rg.WriteAsync<T>(Field, Values.AsMemory(0, rows), null, metadata!, CancellationToken.None);
    }

    public override async Task ReadAsync(ParquetRowGroupReader rg, DataField fileField, int rows)
    {
        // Most columns hold one value in a row group (a field the group's kinds do not print):
        // its min and max statistics say so, and the column need not be decoded.
        if (rg.GetStatistics(fileField) is { NullCount: null or 0, MinValue: T min, MaxValue: T max } && EqualityComparer<T>.Default.Equals(min, max))
            Values.AsSpan(0, rows).Fill(min);
        else
            await rg.ReadAsync<T>(fileField, Values.AsMemory(0, rows), null);
        if (Dictionary is null) return;
        Dictionary.Clear();
        if (rg.GetCustomMetadata(fileField).TryGetValue(ParquetColumns.DictionaryKey, out var json))
            Dictionary.AddRange(System.Text.Json.JsonSerializer.Deserialize<string[]>(json) ?? []);
    }
}

/// <summary>
/// An sg array: a repeated UInt64 column (definition level 0 for an empty list, 1 for a value;
/// repetition level 0 starts a row's list). The buffers hold a row group's values and levels.
/// </summary>
internal sealed class ListColumn(EventColumn column) : ParquetColumn(column)
{
    public ulong[] Values = new ulong[ParquetColumns.RowGroupSize];
    public int[] Definition = new int[ParquetColumns.RowGroupSize];
    public int[] Repetition = new int[ParquetColumns.RowGroupSize];
    /// <summary>Reading: where each row's values start in <see cref="Values"/> (one more entry than rows).</summary>
    public int[] RowStart = new int[ParquetColumns.RowGroupSize + 1];
    public int ValueCount, LevelCount;

    public override DataField Field { get; } = new(EventSchema.Names[(int)column], typeof(ulong), false, true);

    public void Clear() => ValueCount = LevelCount = 0;

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

    public override async Task ReadAsync(ParquetRowGroupReader rg, DataField fileField, int rows)
    {
        int levels = (int)(rg.GetMetadata(fileField)?.MetaData?.NumValues ?? rows);
        if (Definition.Length < levels)
        {
            Definition = new int[levels];
            Repetition = new int[levels];
        }
        if (Values.Length < levels) Values = new ulong[levels];
        await rg.ReadRawAsync<ulong>(fileField, Values.AsMemory(0, levels), Definition.AsMemory(0, levels), Repetition.AsMemory(0, levels));
        int row = -1, value = 0;
        for (int i = 0; i < levels; i++)
        {
            if (Repetition[i] == 0)
            {
                if (++row > rows) throw new InvalidDataException($"column '{Name}' has more lists than the row group has rows");
                RowStart[row] = value;
            }
            if (Definition[i] == fileField.MaxDefinitionLevel) value++;
        }
        if (row != rows - 1) throw new InvalidDataException($"column '{Name}' has {row + 1} lists for {rows} rows");
        RowStart[rows] = value;
    }

    public ReadOnlySpan<ulong> Row(int row) => Values.AsSpan(RowStart[row], RowStart[row + 1] - RowStart[row]);
}
