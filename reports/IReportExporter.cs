using DmaReplay.Engine.Summary;

namespace DmaReplay.Reports;

/// <summary>Writes a <see cref="RunSummary"/> in one format. Exporters only format; they compute nothing.</summary>
public interface IReportExporter
{
    /// <summary>The --format name ("json", "csv", "html").</summary>
    string Format { get; }

    /// <summary>Writes the report into <paramref name="outDir"/> and returns the files written.</summary>
    IReadOnlyList<string> Export(RunSummary summary, string outDir);
}
