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

    /// <summary>The replay's platform, agreement with the kernel, and SWIOTLB figures.</summary>
    public static void WriteReplay(TextWriter stdout, RunSummary summary)
    {
        if (summary.Replay is not { } r) return;
        var ci = CultureInfo.InvariantCulture;
        stdout.WriteLine($"platform: {r.Platform.Name}" + (r.Platform.IsCaptureOwn ? " (the capture's own)" : " (what-if)"));
        foreach (var p in r.Platform.Provenance) stdout.WriteLine("  " + p);
        var a = r.Agreement;
        stdout.WriteLine(string.Create(ci,
            $"agreement: direct {a.Direct.Exact:N0}/{a.Direct.Compared:N0} exact, swiotlb {a.Swiotlb.Exact:N0}/{a.Swiotlb.Compared:N0} exact, " +
            $"iommu {a.Iommu.Exact:N0}/{a.Iommu.Compared:N0} exact, " +
            $"failures recorded {a.Failures.Recorded:N0} predicted {a.Failures.Predicted:N0} matched {a.Failures.Matched:N0}, mismatches {a.MismatchCount:N0}"));
        if (a.IommuPageTable is { } pt)
            stdout.WriteLine(string.Create(ci, $"iommu page table: {pt.Exact:N0}/{pt.Compared:N0} updates exact") +
                string.Concat(pt.NotCompared.Where(kv => kv.Value > 0).Select(kv => string.Create(ci, $", {kv.Value:N0} not compared ({kv.Key})"))));
        foreach (var m in a.Mismatches.Take(DiagnosticsShown))
            stdout.WriteLine(string.Create(ci, $"  {m.Input}:{m.Line}: {m.Kind} on {m.Device}: phys 0x{m.Phys:x} size {m.Size}, kernel 0x{m.Recorded:x}, emulated 0x{m.Predicted:x}"));
        if (r.Swiotlb is { } s)
        {
            string rec(long? v) => v is { } x ? string.Create(ci, $" (kernel: {x:N0})") : "";
            stdout.WriteLine(string.Create(ci,
                $"swiotlb: {s.Nslabs:N0} slots in {s.Nareas} areas at 0x{s.PoolStart:x}{(s.Force ? ", force" : "")}; high-water {s.UsedHiwater:N0}{rec(s.RecordedHiwater)}, " +
                $"in use at end {s.UsedAtEnd:N0}{rec(s.RecordedUsedAtEnd)}, map failures {s.MapFailures:N0}, copied {s.Bytes.ToDevice:N0} bytes to and {s.Bytes.FromDevice:N0} from the device in {s.BounceCopies:N0} copies"));
        }
        if (r.Iommu is { } io)
        {
            foreach (var d in io.Domains)
            {
                string flushes = d.Mode == "lazy"
                    ? string.Create(ci, $", flushes {d.TimerFlushes:N0} timer ({d.WitnessedFlushes:N0} witnessed earlier, {d.MigratedFlushes:N0} on another CPU) / {d.FullQueueFlushes:N0} full queue")
                    : "";
                stdout.WriteLine(string.Create(ci,
                    $"iommu {d.Domain} ({d.Mode}): {d.Allocations:N0} IOVA allocations ({d.RcacheHits:N0} from the range cache, {d.TreeAllocations:N0} from the tree), " +
                    $"peak {d.PeakMappedBytes:N0} bytes mapped, {d.PeakTreeBytes:N0} held, lowest 0x{d.LowestIova ?? 0:x}") + flushes);
                if (d.Hardware is { } h)
                    stdout.WriteLine(string.Create(ci,
                        $"  {h.Iotlb} IOTLB ({h.IotlbEntries:N0} entries, {h.IotlbWays}-way): {h.Lookups:N0} lookups, {h.Hits:N0} hits, {h.Misses:N0} misses, " +
                        $"{h.PageWalks:N0} walks reading {h.WalkLevelsRead:N0} levels; {h.Invalidations:N0} invalidations ({h.InvalidatedPages:N0} pages); " +
                        $"page table peak {h.PageTablePagesPeak:N0} pages, {h.LargePageMaps:N0} 2 MiB maps"));
            }
        }
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
