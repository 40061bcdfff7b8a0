using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers;

namespace DmaReplay.Tests.Reports;

/// <summary>
/// A small hand-built summary with hostile strings where traces can put them (markup in a device
/// name, a spreadsheet formula as a task name, every HTML-special character in an excerpt) and
/// the chart's edge cases (a device with one series point, one with none, an unreadable input).
/// </summary>
internal static class SampleSummary
{
    public const string InputA = "traces/nvme & net.txt";
    public const string InputB = "traces/missing.txt";
    public const string ScriptDevice = "<script>alert(1)</script>";
    public const string FormulaTask = "=cmd|' /C calc'!A0";
    public const string SpecialExcerpt = "dma_map_page: dev=&<>\"' addr=zz";

    public static RunSummary Create()
    {
        var a = new InputSummary(InputA, "ftrace", 4096, 40, 30,
            [Kv("dma_map_page", 12), Kv("dma_unmap_page", 11), Kv("dma_map_sg", 4), Kv("dma_unmap_sg", 3)],
            [Kv("tracing_mark_write", 2)],
            [Kv("header", 3), Kv("other-event", 2), Kv("stack-frame", 4)],
            Malformed: 1, LostEvents: 0, FirstTimestampNs: 1_500_000_000, LastTimestampNs: 3_750_000_123,
            StackTraces: 2, StackFrames: 6,
            [
                new ParseDiagnostic(InputA, 17, 1234, "unparsable-field", SpecialExcerpt),
                new ParseDiagnostic(InputA, 23, 2001, "truncated-line", "=HYPERLINK(\"http://x\")"),
            ],
            ReadError: null);
        var b = new InputSummary(InputB, "unknown", 0, 0, 0, [], [], [], 0, 0, null, null, 0, 0, [],
            "No such file or directory");

        DeviceSummary[] devices =
        [
            new(InputA, "0000:00:02.0", 14, 7, 0, 6, 0, 3, 12288, 1, 4096,
                [new(1_500_000_000, 1, 1), new(1_750_000_000, 3, 3), new(2_000_000_000, 2, 2), new(2_250_000_000, 1, 1)]),
            new(InputA, ScriptDevice, 5, 2, 1, 2, 1, 1, 65536, 0, 0, [new(2_600_000_000, 1, 1)]),
            new(InputA, "0000:00:1f.2", 2, 0, 0, 0, 0, 0, 0, 0, 0, []),
        ];

        Finding[] findings =
        [
            new("unmap-without-map", Severity.Warning, "unmap of 0xdead0000 that no map created", ScriptDevice,
                0xdead0000, 4096, "DMA_FROM_DEVICE", InputA, 21, 2_600_000_500, 1, -1, FormulaTask,
                new RelatedEvent(InputA, 9, 1_600_000_000),
                ["dma_unmap_page_attrs", "nvme_unmap_data", "nvme_pci_complete_rq"],
                ["dma_map_page_attrs", "nvme_map_data"]),
            new("double-unmap", Severity.Error, "-second unmap of 0x1000", "0000:00:02.0",
                0x1000, 512, "DMA_TO_DEVICE", InputA, 30, 3_000_000_000, 0, 412, "@kworker/0:1",
                null, [], []),
            new("unmap-without-map", Severity.Warning, "unmap of 0xdead1000 that no map created", ScriptDevice,
                0xdead1000, 4096, "DMA_FROM_DEVICE", InputA, 25, 2_700_000_000, 1, 77, "+irq/24-nvme0q1",
                null, ["dma_unmap_page_attrs", "nvme_unmap_data"], []),
        ];

        return new RunSummary(new ToolInfo("dmareplay", "0.1.0"), [a, b], devices, findings,
            [Kv("double-unmap", 1), Kv("unmap-without-map", 2)]);
    }

    public static RunSummary Empty() => new(new ToolInfo("dmareplay", "0.1.0"), [], [], [], []);

    private static KeyValuePair<string, long> Kv(string key, long value) => KeyValuePair.Create(key, value);
}
