using System.Globalization;
using CsvHelper;
using DmaReplay.Engine.Summary;
using DmaReplay.Reports.Tables;

namespace DmaReplay.Reports.Csv;

/// <summary>
/// One CSV file per table, for spreadsheets and scripts. The header is written even for an empty
/// table so a reader always finds the columns.
/// </summary>
public sealed class CsvExporter : IReportExporter
{
    /// <summary>
    /// LF everywhere so the files are byte-identical on every OS. CsvHelper's injection guard puts a
    /// quote before text starting with = + - @ tab or CR (a spreadsheet would run it as a formula);
    /// it leaves numbers alone, which is why <see cref="Cell"/> keeps integers typed.
    /// </summary>
    internal static CsvWriterOptions Options { get; } = CsvWriterOptions.Default with
    {
        NewLine = "\n",
        FormatProvider = CultureInfo.InvariantCulture,
        Injection = CsvInjection.Escape,
    };

    public string Format => "csv";

    public IReadOnlyList<string> Export(RunSummary summary, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var written = new List<string>();
        foreach (var table in Tables(summary))
        {
            var path = Path.Combine(outDir, table.Name + ".csv");
            using (var writer = CsvWriter.ToFile(path, Options)) Write(writer, table);
            written.Add(path);
        }
        return written;
    }

    /// <summary>The tables of every run, then, for a replay, its agreement and SWIOTLB tables.</summary>
    public static IEnumerable<ReportTable> Tables(RunSummary summary)
    {
        IEnumerable<ReportTable> tables =
        [
            ReportTables.Inputs(summary.Inputs),
            ReportTables.EventCounts(summary.Inputs),
            ReportTables.Skipped(summary.Inputs),
            ReportTables.Devices(summary.Devices),
            ReportTables.Diagnostics(summary.Inputs),
            ReportTables.Findings(summary.Findings),
        ];
        if (summary.Fences.Count > 0) tables = tables.Append(FenceTables.Timelines(summary.Fences)); // fences.csv: only when the trace has fences
        if (summary.Replay is not { } replay) return tables;
        tables = tables.Concat(
        [
            ReplayTables.Agreement(replay.Agreement, replay.Pools),
            ReplayTables.Mismatches(replay.Agreement.Mismatches),
            ReplayTables.SwiotlbAreas(replay.Swiotlb),
            ReplayTables.SwiotlbDevices(replay.Swiotlb),
            ReplayTables.SwiotlbTimeline(replay.Swiotlb),
            ReplayTables.IommuDomains(replay.Iommu),
            .. replay.Coherency is { } c ? [CoherencyTables.Maintenance(c), CoherencyTables.KmallocBounces(c)] : Array.Empty<ReportTable>(),
            .. replay.Cost is { } cost ? CostTables.All(cost) : Array.Empty<ReportTable>(),
        ]);
        // allocation-sources.csv, atomic-pools.csv, dma-pools.csv: only when the trace allocated something
        return replay.Pools is { } pools ? tables.Concat([PoolTables.Sources(pools), PoolTables.AtomicPools(pools), PoolTables.DmaPools(pools)]) : tables;
    }

    public static void Write(CsvWriter writer, ReportTable table)
    {
        foreach (var column in table.Columns) writer.WriteField(column.Key);
        writer.EndRecord();
        foreach (var row in table.Rows)
        {
            foreach (var cell in row)
            {
                if (cell.Integer is { } n) writer.WriteField(n);
                else writer.WriteField(cell.Text);
            }
            writer.EndRecord();
        }
    }
}
