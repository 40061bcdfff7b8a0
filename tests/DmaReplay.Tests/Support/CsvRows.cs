using CsvHelper;

namespace DmaReplay.Tests.Support;

/// <summary>Reads a report CSV back as it is written: every row, the header first, cells as text.</summary>
internal static class CsvRows
{
    public static List<string[]> Read(string path)
    {
        using var reader = CsvReader.FromFile(path, CsvReaderOptions.Default with { HasHeader = false });
        var rows = new List<string[]>();
        foreach (var row in reader) rows.Add(row.ToArray());
        return rows;
    }
}
