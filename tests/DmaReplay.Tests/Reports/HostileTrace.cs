using System.Globalization;
using System.Text;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Reports;

/// <summary>
/// A synthetic ftrace text trace whose device, task, pool, fence driver and timeline names hold
/// markup (<c>&lt;script&gt;</c>, <c>&amp;</c>, quotes) or start with a spreadsheet formula
/// character (<c>= + - @</c>). Every device does the same: a dma_pool with a double free and a
/// destroy while busy, a kmalloc-sized FROM_DEVICE map with its sync and unmap, a page map, then a
/// managed and an unmanaged allocation and a map left live at its driver's unbind. Three fence
/// timelines are emitted and never signaled. Replayed on arm64-noncoherent-soc with a cost model
/// every report section has rows naming these strings.
/// </summary>
internal static class HostileTrace
{
    public const string ScriptDevice = "<script>alert(\"dev&'q\")</script>";
    public const string ScriptTask = "<script>t&\"x\"</script>";
    public const string ScriptPool = "<script>pool & \"q\" 'x'</script>";
    public const string ScriptDriver = "<script>drv</script>";
    public const string ScriptTimeline = "tl&\"x\"'y'";

    /// <summary>(device, task, pool): the script one, then one per formula character.</summary>
    public static readonly (string Device, string Task, string Pool)[] Drivers =
    [
        (ScriptDevice, ScriptTask, ScriptPool),
        ("=SUM(1+1)", "=task", "=pool"),
        ("+cmd", "+irq/24", "+pool"),
        ("-cmd", "-neg", "-pool"),
        ("@cmd", "@kw", "@pool"),
    ];

    /// <summary>(driver, timeline, task) of the fences never signaled.</summary>
    public static readonly (string Driver, string Timeline, string Task)[] Fences =
    [
        (ScriptDriver, ScriptTimeline, ScriptTask),
        ("@drv", "-tl", "@kw"),
        ("=drv", "+tl", "=task"),
    ];

    public static string Text()
    {
        var sb = new StringBuilder("# tracer: nop\n#\n");
        long us = 1_000_000;
        void L(string task, int pid, int cpu, string evt, string body)
        {
            us += 7;
            var ts = (us / 1_000_000).ToString(CultureInfo.InvariantCulture) + "." + (us % 1_000_000).ToString("000000", CultureInfo.InvariantCulture);
            sb.Append(TraceHarness.Line(task, pid, cpu, ".....", ts, evt, body)).Append('\n');
        }
        ulong next = 0x4000_0000;
        ulong Page() => next += 0x1_0000;
        string X(ulong v) => v.ToString("x", CultureInfo.InvariantCulture);
        string Virt(ulong v) => v.ToString("x16", CultureInfo.InvariantCulture);

        foreach (var (dev, task, pool) in Drivers)
        {
            L(task, 42, 0, "dma_pool_create", $"{dev} size=64 align=64 boundary=0 pool={pool}");
            ulong p = Page();
            L(task, 42, 0, "dma_alloc", $"{dev} dir=BIDIRECTIONAL dma_addr={X(p)} size=4096 virt_addr={Virt(p)} flags=GFP_KERNEL attrs=");
            L(task, 42, 0, "dma_pool_alloc", $"{dev} dma_addr={X(p)} virt_addr={Virt(p + 1)} flags=GFP_KERNEL pool={pool}");
            L(task, 42, 0, "dma_pool_alloc", $"{dev} dma_addr={X(p + 64)} virt_addr={Virt(p + 65)} flags=GFP_KERNEL pool={pool}");
            L(task, 42, 1, "dma_pool_free", $"{dev} dma_addr={X(p)} virt_addr={Virt(p + 1)} pool={pool}");
            L(task, 42, 1, "dma_pool_free", $"{dev} dma_addr={X(p)} virt_addr={Virt(p + 1)} pool={pool}"); // pool-double-free
            ulong b = Page();
            L(task, 42, 1, "dma_map_page", $"{dev} dir=FROM_DEVICE dma_addr={X(b)} size=32 phys_addr={X(b)} attrs=");
            L(task, 42, 1, "dma_sync_single_for_cpu", $"{dev} dir=FROM_DEVICE dma_addr={X(b)} size=32");
            L(task, 42, 1, "dma_unmap_page", $"{dev} dir=FROM_DEVICE dma_addr={X(b)} size=32 attrs=");
            ulong c = Page();
            L(task, 42, 0, "dma_map_page", $"{dev} dir=TO_DEVICE dma_addr={X(c)} size=4096 phys_addr={X(c)} attrs=");
            L(task, 42, 0, "dma_unmap_page", $"{dev} dir=TO_DEVICE dma_addr={X(c)} size=4096 attrs=");
            L(task, 42, 0, "dma_pool_destroy", $"{dev} pool={pool}"); // pool-destroy-busy: one block still out
            L(task, 42, 0, "dma_free", $"{dev} dir=BIDIRECTIONAL dma_addr={X(p)} size=4096 virt_addr={Virt(p)} attrs=");
            ulong m = Page(), u = Page(), s = Page();
            L(task, 42, 0, "dma_alloc", $"{dev} dir=BIDIRECTIONAL dma_addr={X(m)} size=4096 virt_addr={Virt(m)} flags=GFP_KERNEL managed attrs=");
            L(task, 42, 0, "dma_alloc", $"{dev} dir=BIDIRECTIONAL dma_addr={X(u)} size=4096 virt_addr={Virt(u)} flags=GFP_KERNEL attrs=");
            L(task, 42, 0, "dma_map_page", $"{dev} dir=FROM_DEVICE dma_addr={X(s)} size=4096 phys_addr={X(s)} attrs=");
            L(task, 42, 0, "device_unbind", $"{dev} driver={task}"); // leak-at-unbind: the unmanaged allocation and the map
        }
        foreach (var (driver, timeline, task) in Fences)
        {
            L(task, 43, 1, "dma_fence_init", $"driver={driver} timeline={timeline} context=7 seqno=1");
            L(task, 43, 1, "dma_fence_emit", $"driver={driver} timeline={timeline} context=7 seqno=1");
        }
        return sb.ToString();
    }

    private static readonly Lazy<string> File_ = new(() =>
    {
        var path = Path.Combine(CliHarness.NewDir(), "hostile.trace");
        File.WriteAllText(path, Text(), new UTF8Encoding(false));
        return path;
    });

    /// <summary>The trace written once per test run.</summary>
    public static string FilePath => File_.Value;

    /// <summary>replay with every section: a non-coherent platform (coherency), a cost model, pools from the trace.</summary>
    public static readonly string[] ReplayOptions = ["--platform", "arm64-noncoherent-soc", "--cost", "arm64-smmuv3"];

    /// <summary>The same with two IOMMU modes side by side.</summary>
    public static readonly string[] CompareOptions = [.. ReplayOptions, "--compare", "iommu.mode=strict,lazy"];
}
