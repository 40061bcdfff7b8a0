using System.Globalization;
using DmaReplay.Engine.Findings;
using DmaReplay.Engine.Summary;

namespace DmaReplay.Cli.Common;

/// <summary>The short human summary printed after a run; diagnostics and warnings go to stderr.</summary>
internal static class ConsoleSummary
{
    private const int DiagnosticsShown = 10;

    public static void Write(TextWriter stdout, TextWriter stderr, RunSummary summary, IReadOnlyList<string> written, long suppressed)
    {
        var ci = CultureInfo.InvariantCulture;
        foreach (var i in summary.Inputs)
        {
            if (i.ReadError is not null) stderr.WriteLine($"error: {i.Path}: {i.ReadError}");
            long skipped = i.Skipped.Sum(s => s.Value);
            stdout.WriteLine(string.Create(ci,
                $"{i.Path}: {i.Format}, {i.Lines:N0} lines = {i.Events:N0} events + {skipped:N0} skipped + {i.Malformed:N0} malformed"));
            if (i.Skipped.Count > 0)
                stdout.WriteLine("  skipped: " + string.Join(", ", i.Skipped.Select(s => string.Create(ci, $"{s.Key} {s.Value:N0}"))));
            if (i.LostEvents > 0)
                stderr.WriteLine(string.Create(ci, $"warning: {i.Path}: the kernel lost {i.LostEvents:N0} events (ring buffer overrun); mappings may look unbalanced"));
            foreach (var d in i.Diagnostics.Take(DiagnosticsShown)) stderr.WriteLine($"warning: {d.Input}:{d.Line}: {d.Reason}");
            if (i.Malformed > DiagnosticsShown)
                stderr.WriteLine(string.Create(ci, $"warning: {i.Path}: {i.Malformed - DiagnosticsShown:N0} more malformed lines (first {Parsers.InputStatistics.MaxDiagnostics} in the reports)"));
        }
        WriteFindings(stdout, summary, suppressed);
        foreach (var f in written) stdout.WriteLine($"wrote {f}");
    }

    /// <summary>Findings grouped by rule, device and call site, most severe first, with counts.</summary>
    private static void WriteFindings(TextWriter stdout, RunSummary summary, long suppressed)
    {
        var ci = CultureInfo.InvariantCulture;
        var bySeverity = summary.Findings.GroupBy(f => f.Severity).OrderByDescending(g => g.Key)
            .Select(g => string.Create(ci, $"{g.Count():N0} {g.Key.Key()}")).ToList();
        string sup = suppressed > 0 ? string.Create(ci, $", {suppressed:N0} suppressed") : "";
        stdout.WriteLine(summary.Findings.Count == 0 ? $"findings: none{sup}" : $"findings: {string.Join(", ", bySeverity)}{sup}");
        foreach (var g in FindingGroups.Of(summary.Findings))
        {
            string site = g.CallSite.Length > 0 ? $" at {g.CallSite}" : "";
            stdout.WriteLine(string.Create(ci, $"  {g.Severity.Key(),-7} {g.Rule} ×{g.Count:N0} on {g.Device}{site}"));
            stdout.WriteLine($"          first: {g.First.Input}:{g.First.Line}: {g.First.Message}");
        }
    }
}
