using System.Text;
using DmaReplay.Engine;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Checks;

/// <summary>Builds a small trace line by line (line numbers known) and runs the checker on it.</summary>
internal sealed class CheckerHarness
{
    private readonly StringBuilder _text = new();
    private int _line;
    private long _us;

    public const string Nvme = "0000:00:02.0";
    public const string Nic = "0000:00:03.0";

    /// <summary>Appends an event line and returns its 1-based line number.</summary>
    public int Add(string evt, string body, int cpu = 0, string task = "kworker/0:1", int pid = 42)
    {
        _us += 10;
        _text.Append(Parsers.Support.Line(task, pid, cpu, _us)).Append(evt).Append(": ").Append(body).Append('\n');
        return ++_line;
    }

    public int Map(string dev, ulong dma, ulong size, string dir = "FROM_DEVICE", string attrs = "", ulong? phys = null) =>
        Add("dma_map_page", $"{dev} dir={dir} dma_addr={dma:x} size={size} phys_addr={(phys ?? dma):x} attrs={attrs}");

    public int Unmap(string dev, ulong dma, ulong size, string dir = "FROM_DEVICE", string evt = "dma_unmap_page") =>
        Add(evt, $"{dev} dir={dir} dma_addr={dma:x} size={size} attrs=");

    public int MapSg(string dev, string dir, ulong[] phys, ulong[] dma, ulong[] lens) =>
        Add("dma_map_sg", $"{dev} dir={dir} nents={phys.Length}/{phys.Length} ents={dma.Length}/{dma.Length} dma_addrs={Arr(dma)} sizes={Arr(lens)} phys_addrs={Arr(phys)} attrs=NO_WARN");

    public int UnmapSg(string dev, string dir, ulong[] phys) => Add("dma_unmap_sg", $"{dev} dir={dir} phys_addrs={Arr(phys)} attrs=");

    public int Sync(string dev, ulong dma, ulong size, string dir, bool forCpu) =>
        Add(forCpu ? "dma_sync_single_for_cpu" : "dma_sync_single_for_device", $"{dev} dir={dir} dma_addr={dma:x} size={size}");

    public int Alloc(string dev, ulong dma, ulong size, ulong virt) =>
        Add("dma_alloc", $"{dev} dir=BIDIRECTIONAL dma_addr={dma:x} size={size} virt_addr={virt:x16} flags=GFP_KERNEL attrs=");

    public int Free(string dev, ulong dma, ulong size, ulong virt) =>
        Add("dma_free", $"{dev} dir=BIDIRECTIONAL dma_addr={dma:x} size={size} virt_addr={virt:x16} attrs=");

    private static string Arr(ulong[] xs) => "{" + string.Join(",", xs.Select(x => "0x" + x.ToString("x"))) + "}";

    public IReadOnlyList<Finding> Run(CheckOptions? options = null, bool withLeaks = false)
    {
        var strings = new TraceStrings();
        var checker = new MisuseChecker(options ?? new CheckOptions(), strings, "t.trace");
        var summary = new TraceSummaryBuilder();
        var stats = new FtraceTextReader(strings, new EventFanout(summary, checker))
            .Read(new MemoryStream(Encoding.ASCII.GetBytes(_text.ToString())), "t.trace", 0);
        Assert.AreEqual(0L, stats.Malformed, string.Join("\n", stats.Diagnostics));
        checker.Finish(summary.Devices);
        return withLeaks ? checker.Findings : checker.Findings.Where(f => f.Rule != Rules.LeakAtEnd).ToList();
    }

    public string Text => _text.ToString();
}
