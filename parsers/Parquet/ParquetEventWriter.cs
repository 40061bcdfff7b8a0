using System.Globalization;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Synthetic;
using Parquet;

namespace DmaReplay.Parsers.Parquet;

/// <summary>
/// Writes events as a Parquet file of <see cref="EventSchema"/>: typed columns (addresses and
/// sizes UInt64, counts Int32), a row group of <see cref="ParquetColumns.RowGroupSize"/> rows
/// written whenever that many events have come, so memory stays one row group whatever the
/// length of the trace. The schema version is the file's "dmareplay.schema" metadata.
/// </summary>
/// <remarks>Rows are filled into preallocated column arrays; names become per-row-group dictionary ids (<see cref="ParquetColumns"/>).</remarks>
public sealed class ParquetEventWriter : Input.ITraceEventWriter
{
    private readonly ParquetColumns _c = new(writing: true);
    private readonly TraceStrings _strings;
    private readonly Stream _stream;
    private readonly ParquetWriter _writer;
    private readonly ChunkDictionary _kinds, _tasks, _devices, _gfp, _drivers, _timelines, _pools, _kernelStacks, _userStacks;
    private int _rows;

    /// <summary>
    /// The codec of a column chunk, chosen as it is written (Parquet.Net reads the options' codec
    /// for each chunk): LZ4 (LZ4_RAW) at its fast level, except for a chunk of a column that
    /// <see cref="ParquetColumn.HighEntropy"/> marks (timestamps, addresses) holding more than one
    /// value, which is stored uncompressed. Those gain less than 3 times from LZ4 and are most of
    /// what a reader would decompress: on the benchmark trace the file is 57 MB instead of 32 MB
    /// all-LZ4 (37 MB Snappy, 203 MB uncompressed) and reads ~15 % faster with a fifth of the
    /// garbage (Parquet.Net copies each compressed page into a new array). Parquet.Net's default
    /// level, SmallestSize, is LZ4's HC mode: a third smaller and 50 times slower to write.
    /// </summary>
    private readonly ParquetOptions _options = new() { CompressionMethod = CompressionMethod.Lz4Raw, CompressionLevel = System.IO.Compression.CompressionLevel.Fastest };

    public ParquetEventWriter(Stream stream, TraceStrings strings)
    {
        _stream = stream;
        _strings = strings;
        _writer = ParquetWriter.CreateAsync(_c.Schema(), stream, _options, append: false).GetAwaiter().GetResult();
        _writer.CustomMetadata = new Dictionary<string, string>
        {
            [EventSchema.ParquetVersionKey] = EventSchema.Version.ToString(CultureInfo.InvariantCulture),
        };
        _kinds = new ChunkDictionary(_c.Kind.Dictionary!, id => ((DmaEventKind)id).Name());
        _tasks = new ChunkDictionary(_c.Task.Dictionary!, id => strings.Tasks[id]);
        _devices = new ChunkDictionary(_c.Device.Dictionary!, id => strings.Devices[id]);
        _gfp = new ChunkDictionary(_c.Gfp.Dictionary!, id => strings.Text[id]);
        _drivers = new ChunkDictionary(_c.Driver.Dictionary!, id => strings.Text[id]);
        _timelines = new ChunkDictionary(_c.Timeline.Dictionary!, id => strings.Text[id]);
        _pools = new ChunkDictionary(_c.Pool.Dictionary!, id => strings.Text[id]);
        _kernelStacks = new ChunkDictionary(_c.KernelStack.Dictionary!, StackText);
        _userStacks = new ChunkDictionary(_c.UserStack.Dictionary!, StackText);
    }

    public long Events { get; private set; }

    /// <summary>Bytes written so far (all of them after <see cref="Dispose"/>).</summary>
    public long Bytes { get; private set; }

    public void OnEvent(DmaEvent e) => Write(e);

    public void Write(DmaEvent e)
    {
        int i = _rows;
        var c = _c;
        c.Kind.Values[i] = _kinds.Id((int)e.Kind);
        c.TimestampNs.Values[i] = e.TimestampNs;
        c.Cpu.Values[i] = e.Cpu;
        c.Pid.Values[i] = e.Pid;
        c.Tgid.Values[i] = e.Tgid;
        c.Task.Values[i] = _tasks.Id(e.Task);
        c.Flags.Values[i] = ParquetColumns.PackFlags(e.Flags, e.PreemptDepth, e.MigrateDisable);
        c.Device.Values[i] = _devices.Id(e.Device);
        c.Dir.Values[i] = EventText.RawDirection(e.Direction, e.RawDirection);
        c.DmaAddr.Values[i] = e.DmaAddr;
        c.PhysAddr.Values[i] = e.PhysAddr;
        c.Size.Values[i] = e.Size;
        c.VirtAddr.Values[i] = e.VirtAddr;
        c.Gfp.Values[i] = _gfp.Id(e.GfpText);
        c.Attrs.Values[i] = (ulong)e.Attrs;
        c.Error.Values[i] = e.Error;
        c.Nents.Values[i] = e.Nents;
        c.Ents.Values[i] = e.Ents;
        c.Truncated.Values[i] = e.Truncated;
        c.PhysAddrs.Add(e.PhysAddrs);
        c.DmaAddrs.Add(e.DmaAddrs);
        c.Lengths.Add(e.Lengths);
        c.DmaMask.Values[i] = e.DmaMask;
        c.Bounce.Values[i] = (int)e.BounceReason;
        c.UnmappedSize.Values[i] = e.UnmappedSize;
        c.GroupId.Values[i] = e.GroupId;
        c.FaultFlags.Values[i] = e.FaultFlags;
        c.Driver.Values[i] = _drivers.Id(e.Driver);
        c.Timeline.Values[i] = _timelines.Id(e.Timeline);
        c.Context.Values[i] = e.Context;
        c.Seqno.Values[i] = e.Seqno;
        c.Pool.Values[i] = _pools.Id(e.Pool);
        c.Align.Values[i] = e.Align;
        c.Boundary.Values[i] = e.Boundary;
        c.Managed.Values[i] = e.Managed;
        c.KernelStack.Values[i] = _kernelStacks.Id(e.KernelStack);
        c.UserStack.Values[i] = _userStacks.Id(e.UserStack);
        Events++;
        if (++_rows == ParquetColumns.RowGroupSize) FlushRowGroup();
    }

    private string StackText(int id)
    {
        var bytes = new byte[EventText.StackLength(_strings, id)];
        EventText.Stack(_strings, id, bytes);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    private void FlushRowGroup()
    {
        if (_rows == 0) return;
        using (var rg = _writer.CreateRowGroup())
        {
            foreach (var column in _c.All)
            {
                _options.CompressionMethod = column.HighEntropy && !column.HoldsOneValue(_rows) ? CompressionMethod.None : CompressionMethod.Lz4Raw;
                column.WriteAsync(rg, _rows).GetAwaiter().GetResult();
            }
            rg.CompleteValidate();
        }
        _rows = 0;
        _c.PhysAddrs.Clear();
        _c.DmaAddrs.Clear();
        _c.Lengths.Clear();
        foreach (var d in (ReadOnlySpan<ChunkDictionary>)[_kinds, _tasks, _devices, _gfp, _drivers, _timelines, _pools, _kernelStacks, _userStacks])
            d.Clear();
    }

    public void Dispose()
    {
        FlushRowGroup();
        _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _stream.Flush();
        Bytes = _stream.CanSeek ? _stream.Length : -1;
    }

    /// <summary>
    /// A row group's dictionary of one name column: trace ids (interned names, stacks, kinds) to
    /// dense ids in first-seen order, found through an array indexed by trace id and stamped with
    /// the row group, so a lookup is two array reads and a new row group clears nothing.
    /// </summary>
    private sealed class ChunkDictionary(List<string> values, Func<int, string> text)
    {
        private int[] _ids = new int[64];
        private int[] _stamps = new int[64];
        private int _stamp = 1;

        /// <summary>The row group's id of trace id <paramref name="id"/>; -1 stays -1 (no name).</summary>
        public int Id(int id)
        {
            if (id < 0) return -1;
            if (id >= _ids.Length)
            {
                int n = Math.Max(_ids.Length * 2, id + 1);
                Array.Resize(ref _ids, n);
                Array.Resize(ref _stamps, n);
            }
            if (_stamps[id] == _stamp) return _ids[id];
            _stamps[id] = _stamp;
            _ids[id] = values.Count;
            values.Add(text(id));
            return values.Count - 1;
        }

        public void Clear()
        {
            values.Clear();
            _stamp++;
        }
    }
}
