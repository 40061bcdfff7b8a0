using System.Text;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Support;

/// <summary>Reads a trace with the real reader and keeps every event as a record.</summary>
internal sealed class TraceHarness : ITraceEventHandler
{
    public TraceStrings Strings { get; } = new();
    public List<DmaEventRecord> Events { get; } = [];
    public InputStatistics Stats { get; private set; } = null!;

    public void OnEvent(DmaEvent e) => Events.Add(e.ToRecord());

    public static TraceHarness ReadFile(string path)
    {
        var h = new TraceHarness();
        using var stream = TraceInputStream.Open(path, out _);
        h.Stats = new FtraceTextReader(h.Strings, h).Read(stream, path, 0);
        return h;
    }

    public static TraceHarness ReadText(string text, string name = "test.trace") => ReadBytes(Encoding.UTF8.GetBytes(text), name);

    public static TraceHarness ReadBytes(byte[] bytes, string name = "test.trace")
    {
        var h = new TraceHarness();
        h.Stats = new FtraceTextReader(h.Strings, h).Read(new MemoryStream(bytes), name, 0);
        return h;
    }

    public string Device(DmaEventRecord e) => Strings.Device(e.Device);
    public string Task(DmaEventRecord e) => Strings.Task(e.Task);
    public string[] Stack(int id) => id < 0 ? [] : Strings.Stacks[id].ToArray().Select(f => Strings.Functions[f]).ToArray();

    public DmaEventRecord Single(DmaEventKind kind) => Events.Single(e => e.Kind == kind);

    /// <summary>Every line is an event, a skipped line or a malformed line.</summary>
    public void AssertAccounted()
    {
        Assert.AreEqual(Stats.Lines, Stats.AccountedLines, "lines = events + skipped + malformed");
        Assert.AreEqual(Stats.Events, (long)Events.Count, "every counted event reached the handler");
    }

    /// <summary>A tracefs context prefix exactly as trace_print_context prints it.</summary>
    public static string Line(string comm, int pid, int cpu, string flags, string ts, string evt, string body) =>
        $"{comm,16}-{pid,-7} [{cpu:000}] {flags} {ts,12}: {evt}: {body}";
}
