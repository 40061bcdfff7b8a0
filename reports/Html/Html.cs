using System.Globalization;
using System.Net;
using System.Text;
using DmaReplay.Reports.Tables;

namespace DmaReplay.Reports.Html;

/// <summary>
/// Builds report.html. Every piece of text goes through <see cref="Text"/>, which escapes it:
/// paths, device and task names, reasons and excerpts come from traces and may hold markup.
/// Only the exporter's own fixed markup goes through <see cref="Raw"/>.
/// </summary>
internal sealed class Html
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly StringBuilder _sb = new();

    public static string Encode(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>An integer with thousands separators, the same in every culture.</summary>
    public static string Number(Int128 n) => n.ToString("N0", Inv);

    public static string Number(long n) => Number((Int128)n);

    /// <summary>A byte count in binary units for reading ("61.2 MiB"); tables keep the exact count.</summary>
    public static string Size(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        decimal value = bytes;
        int unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? Number(bytes) + " bytes" : value.ToString("0.0", Inv) + " " + units[unit];
    }

    public Html Raw(string markup)
    {
        _sb.Append(markup);
        return this;
    }

    public Html Text(string? text)
    {
        _sb.Append(Encode(text));
        return this;
    }

    /// <summary>An element holding escaped text: <c>&lt;tag class="..."&gt;text&lt;/tag&gt;</c>.</summary>
    public Html Element(string tag, string? text, string? cssClass = null)
    {
        _sb.Append('<').Append(tag);
        if (cssClass is not null) _sb.Append(" class=\"").Append(cssClass).Append('"');
        _sb.Append('>').Append(Encode(text)).Append("</").Append(tag).Append(">\n");
        return this;
    }

    public Html Table(ReportTable table, string? emptyText = null)
    {
        if (table.Rows.Count == 0 && emptyText is not null) return Element("p", emptyText, "muted");
        _sb.Append("<div class=\"table-wrap\"><table class=\"").Append(table.Name).Append("\">\n<thead><tr>");
        foreach (var c in table.Columns)
        {
            _sb.Append(c.Numeric ? "<th class=\"num\">" : "<th>").Append(Encode(c.Title)).Append("</th>");
        }
        _sb.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in table.Rows)
        {
            _sb.Append("<tr>");
            for (int i = 0; i < row.Count; i++)
            {
                var cell = row[i];
                _sb.Append(table.Columns[i].Numeric ? "<td class=\"num\">" : "<td>")
                    .Append(cell.Integer is { } n ? Number(n) : Encode(cell.Text))
                    .Append("</td>");
            }
            _sb.Append("</tr>\n");
        }
        _sb.Append("</tbody>\n</table></div>\n");
        return this;
    }

    public override string ToString() => _sb.ToString();
}
