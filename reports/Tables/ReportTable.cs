namespace DmaReplay.Reports.Tables;

/// <summary>
/// One table cell: text, an integer, or empty. Integers stay typed so CSV writes them as numbers
/// (never formula-escaped, a negative stays a number) and HTML can group their digits.
/// </summary>
public readonly record struct Cell(string? Text, Int128? Integer)
{
    public static Cell Empty => default;

    public static implicit operator Cell(string? text) => new(text, null);
    public static implicit operator Cell(long n) => new(null, n);
    public static implicit operator Cell(ulong n) => new(null, n);
    public static implicit operator Cell(long? n) => n is { } v ? new(null, v) : Empty;
}

/// <summary>A column: <paramref name="Key"/> heads CSV files, <paramref name="Title"/> heads HTML tables.</summary>
public sealed record Column(string Key, string Title, bool Numeric)
{
    public static Column Text(string key, string title) => new(key, title, false);
    public static Column Number(string key, string title) => new(key, title, true);
}

/// <summary>
/// A table of the report, built once from the model and rendered by each format, so CSV and HTML
/// cannot disagree about what a table holds.
/// </summary>
public sealed record ReportTable(string Name, IReadOnlyList<Column> Columns, IReadOnlyList<IReadOnlyList<Cell>> Rows)
{
    /// <summary>The same table without one column, e.g. "input" where a section is already about one input.</summary>
    public ReportTable Without(string key)
    {
        int k = Columns.Select(c => c.Key).ToList().IndexOf(key);
        if (k < 0) throw new ArgumentException($"table '{Name}' has no column '{key}'", nameof(key));
        return this with
        {
            Columns = Columns.Where((_, i) => i != k).ToList(),
            Rows = Rows.Select(r => (IReadOnlyList<Cell>)r.Where((_, i) => i != k).ToList()).ToList(),
        };
    }
}
