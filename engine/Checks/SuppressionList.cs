using System.Text.RegularExpressions;
using DmaReplay.Engine.Findings;

namespace DmaReplay.Engine.Checks;

/// <summary>
/// Suppressions, in the spirit of sanitizer suppression files: one per line,
/// <c>&lt;rule&gt; &lt;device&gt; [&lt;frame&gt;]</c>, whitespace-separated, each a glob ('*', '?');
/// '#' starts a comment. A finding is suppressed when its rule and device match and, if a frame
/// pattern is given, any frame of its stack matches it.
/// </summary>
public sealed class SuppressionList
{
    public static SuppressionList Empty { get; } = new([]);

    private readonly IReadOnlyList<Entry> _entries;

    private SuppressionList(IReadOnlyList<Entry> entries) => _entries = entries;

    public int Count => _entries.Count;

    public static SuppressionList Parse(string text, string source)
    {
        var entries = new List<Entry>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.Split('#')[0].Trim();
            if (line.Length == 0) continue;
            var f = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length is < 2 or > 3)
                throw new FormatException($"{source}:{lineNo}: expected '<rule> <device> [<frame>]', got '{line}'");
            if (!f[0].Contains('*') && !f[0].Contains('?') && Rules.Find(f[0]) is null)
                throw new FormatException($"{source}:{lineNo}: unknown rule '{f[0]}'");
            entries.Add(new Entry(Glob(f[0]), Glob(f[1]), f.Length == 3 ? Glob(f[2]) : null));
        }
        return new SuppressionList(entries);
    }

    /// <summary>Per finding: a plain loop, so an empty list costs no closure.</summary>
    public bool Suppresses(Finding f)
    {
        foreach (var e in _entries)
        {
            if (e.Rule.IsMatch(f.Rule) && e.Device.IsMatch(f.Device) && (e.Frame is null || f.Stack.Any(e.Frame.IsMatch))) return true;
        }
        return false;
    }

    private static Regex Glob(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant);

    private sealed record Entry(Regex Rule, Regex Device, Regex? Frame);
}
