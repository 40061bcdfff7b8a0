using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Replay;
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

    public const string BoldDevice = "<b>nvme</b>";
    public const string BoldProvenance = "swiotlb.start=0x78a00000 from <b>meta.json</b> & cmdline";
    public const string FormulaDevice = "=HYPERLINK(1)";

    /// <summary>
    /// <see cref="Create"/> as a replay: markup in provenance and device names, a formula as a
    /// device name, a mismatch, and SWIOTLB series of different lengths and bucket widths (area 1
    /// ends early, the failure series has buckets half as wide) to exercise the timeline's blanks.
    /// </summary>
    public static RunSummary CreateReplay() => Create() with { Replay = Replay(swiotlb: true) };

    /// <summary>A replay on a platform without SWIOTLB.</summary>
    public static RunSummary CreateReplayWithoutSwiotlb() => Create() with { Replay = Replay(swiotlb: false) };

    private static ReplayReport Replay(bool swiotlb)
    {
        var platform = new PlatformReport("qemu <b>what-if</b>", false, 4,
            ["cpus=4 from --set cpus=4", BoldProvenance, "devices: 3 PCI devices from devices.txt"]);
        var agreement = new AgreementReport(new Tally(120, 119), new Tally(40, 40), new Tally(30, 27), new FailureTally(2, 3, 2), 1,
            [new Mismatch(InputA, 27, "map_page", BoldDevice, 0x12345000, 4096, 0x12345000, 0xfff00000)])
        {
            IommuPageTable = new PageTableTally(50, 49, [KeyValuePair.Create("identity or boot-time map", 2L)]),
        };
        if (!swiotlb) return new ReplayReport(platform, agreement, null);

        const long s = 1_000_000_000;
        SeriesPoint[] used = [new(s * 3 / 2, 4, 0), new(2 * s, 130, 4), new(5 * s / 2, 130, 60), new(3 * s, 62, 60)];
        SeriesPoint[] area0 = [new(s * 3 / 2, 4, 0), new(2 * s, 70, 4), new(5 * s / 2, 70, 60), new(3 * s, 62, 60)];
        SeriesPoint[] area1 = [new(s * 3 / 2, 0, 0), new(2 * s, 60, 0)];
        SeriesPoint[] failures = [new(s * 3 / 2, 0, 0), new(s * 7 / 4, 0, 0), new(2 * s, 1, 0), new(s * 9 / 4, 2, 1), new(5 * s / 2, 2, 2)];
        SeriesPoint[] freeRun = [new(s * 3 / 2, 128, 124), new(2 * s, 128, 0), new(5 * s / 2, 68, 66)];
        var report = new SwiotlbReport(0x78a00000, BoldProvenance, 256, 2, true,
            UsedAtEnd: 61, RecordedUsedAtEnd: 61, UsedHiwater: 130, RecordedHiwater: 131, MapFailures: 2,
            BounceCopies: 77, new BounceBytes(1_000_000, 524_288, 4096, 2048), SearchSteps: 95, MaxSearchSteps: 17, Searches: 40,
            [new SwiotlbAreaReport(0, 61, 12, 61, 12, area0), new SwiotlbAreaReport(1, 0, 3, null, null, area1)],
            used, failures, freeRun,
            [new SwiotlbDeviceReport(BoldDevice, 30, 2, 900_000, 500_000, 70), new SwiotlbDeviceReport(FormulaDevice, 10, 0, 104_096, 26_336, 60)]);
        return new ReplayReport(platform, agreement, report) { Iommu = Iommu() };
    }

    /// <summary>A strict domain with the hardware model and a lazy one without, device names that need escaping.</summary>
    private static IommuReport Iommu() => new(4096, 1, 0,
    [
        new IommuDomainReport("group 3", "strict", 100, 60, 40, 0, 1, 1_048_576, 2_097_152, 0xfff00000, 8192, 0, 0, 0, 0, 2, 0)
        {
            Devices = [BoldDevice, FormulaDevice],
            Hardware = new IommuHardwareReport("vtd-1024", 1024, 8, Lookups: 300, Hits: 200, Misses: 100, PageWalks: 100, WalkLevelsRead: 400,
                Invalidations: 90, InvalidatedPages: 256, PageTablePagesPeak: 7, PageTablePagesAtEnd: 5, LargePageMaps: 1),
        },
        new IommuDomainReport("group <i>5</i>", "lazy", 10, 0, 10, 1, 0, 40960, 81920, null, 0, 3, 1, 2, 1, 0, 0)
        {
            Devices = [FormulaDevice],
        },
    ]);

    public static RunSummary Empty() => new(new ToolInfo("dmareplay", "0.1.0"), [], [], [], []);

    private static KeyValuePair<string, long> Kv(string key, long value) => KeyValuePair.Create(key, value);
}
