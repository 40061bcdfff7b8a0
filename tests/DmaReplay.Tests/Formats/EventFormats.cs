using System.Text;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Csv;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Parquet;

namespace DmaReplay.Tests.Formats;

/// <summary>Reads and writes events in every format, and describes an event with its names resolved, for comparing across formats.</summary>
internal sealed class EventFormats : ITraceEventHandler
{
    public TraceStrings Strings { get; } = new();
    public List<string> Events { get; } = [];
    public InputStatistics Stats { get; private set; } = null!;

    public void OnEvent(DmaEvent e) => Events.Add(Describe(e, Strings));

    public static EventFormats Read(TraceFormat format, byte[] bytes, string name = "input")
    {
        var r = new EventFormats();
        var stream = new MemoryStream(bytes, writable: false);
        r.Stats = format switch
        {
            TraceFormat.Csv => new CsvEventReader(r.Strings, r).Read(stream, name, 0),
            TraceFormat.Parquet => new ParquetEventReader(r.Strings, r).Read(stream, name, 0),
            _ => new FtraceTextReader(r.Strings, r).Read(stream, name, 0),
        };
        return r;
    }

    public static EventFormats ReadFile(string path)
    {
        var r = new EventFormats();
        r.Stats = TraceFiles.Read(path, path, 0, r.Strings, r);
        return r;
    }

    /// <summary>Reads <paramref name="bytes"/> in <paramref name="from"/> and writes its events as <paramref name="to"/>.</summary>
    public static byte[] Convert(TraceFormat from, byte[] bytes, TraceFormat to)
    {
        var output = new MemoryStream();
        var strings = new TraceStrings();
        using (var writer = TraceFiles.CreateWriter(to, output, strings))
        {
            var stream = new MemoryStream(bytes, writable: false);
            var stats = from switch
            {
                TraceFormat.Csv => new CsvEventReader(strings, writer).Read(stream, "in", 0),
                TraceFormat.Parquet => new ParquetEventReader(strings, writer).Read(stream, "in", 0),
                _ => new FtraceTextReader(strings, writer).Read(stream, "in", 0),
            };
            Assert.IsNull(stats.ReadError, stats.ReadError);
        }
        return output.ToArray();
    }

    /// <summary>Writes events (of <paramref name="strings"/>) in one format.</summary>
    public static byte[] Write(TraceFormat format, IEnumerable<DmaEvent> events, TraceStrings strings)
    {
        var output = new MemoryStream();
        using (var writer = TraceFiles.CreateWriter(format, output, strings))
        {
            foreach (var e in events) writer.OnEvent(e);
        }
        return output.ToArray();
    }

    /// <summary>Every field of the event (not its source position), names resolved: equal texts are equal events.</summary>
    public static string Describe(DmaEvent e, TraceStrings s)
    {
        static string Arr(ReadOnlySpan<ulong> v) => string.Join(",", v.ToArray().Select(x => x.ToString("x")));
        string Stack(int id) => id < 0 ? "-" : string.Join(">", s.Stacks[id].ToArray().Select(f => s.Functions[f]));
        string Text(int id) => id < 0 ? "-" : "'" + s.Text[id] + "'";
        var b = new StringBuilder();
        b.Append(e.Kind.Name()).Append(" ts=").Append(e.TimestampNs).Append(" cpu=").Append(e.Cpu).Append(" pid=").Append(e.Pid)
            .Append(" tgid=").Append(e.Tgid).Append(" task='").Append(s.Tasks[e.Task]).Append("' flags=").Append((int)e.Flags)
            .Append('/').Append(e.PreemptDepth).Append('/').Append(e.MigrateDisable)
            .Append(" dev=").Append(e.Device < 0 ? "-" : "'" + s.Devices[e.Device] + "'")
            .Append(" dir=").Append(e.Direction).Append('/').Append(e.RawDirection).Append(" attrs=").Append((ulong)e.Attrs)
            .Append(" dma=").Append(e.DmaAddr.ToString("x")).Append(" phys=").Append(e.PhysAddr.ToString("x")).Append(" size=").Append(e.Size)
            .Append(" virt=").Append(e.VirtAddr.ToString("x")).Append(" gfp=").Append(Text(e.GfpText)).Append('/').Append((uint)e.Gfp)
            .Append(" err=").Append(e.Error).Append(" nents=").Append(e.Nents).Append(" ents=").Append(e.Ents).Append(" trunc=").Append(e.Truncated)
            .Append(" physs=").Append(Arr(e.PhysAddrs)).Append(" dmas=").Append(Arr(e.DmaAddrs)).Append(" lens=").Append(Arr(e.Lengths))
            .Append(" mask=").Append(e.DmaMask.ToString("x")).Append(" bounce=").Append(e.BounceReason).Append(" unmapped=").Append(e.UnmappedSize)
            .Append(" group=").Append(e.GroupId).Append(" fault=").Append(e.FaultFlags).Append(" driver=").Append(Text(e.Driver))
            .Append(" timeline=").Append(Text(e.Timeline)).Append(" ctx=").Append(e.Context).Append(" seqno=").Append(e.Seqno)
            .Append(" pool=").Append(Text(e.Pool)).Append(" align=").Append(e.Align).Append(" boundary=").Append(e.Boundary)
            .Append(" managed=").Append(e.Managed).Append(" kstack=").Append(Stack(e.KernelStack)).Append(" ustack=").Append(Stack(e.UserStack));
        return b.ToString();
    }
}
