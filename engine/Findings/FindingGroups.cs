namespace DmaReplay.Engine.Findings;

/// <summary>Findings of one rule on one device from one call site: how reports and the console list them.</summary>
public sealed record FindingGroup(string Rule, Severity Severity, string Device, string CallSite, int Count, Finding First);

public static class FindingGroups
{
    /// <summary>Groups by rule, device and call site, most severe first, then in order of first appearance.</summary>
    public static IReadOnlyList<FindingGroup> Of(IEnumerable<Finding> findings) =>
        findings.Select((f, i) => (f, i))
            .GroupBy(x => (x.f.Rule, x.f.Device, x.f.CallSite))
            .Select(g => (Group: new FindingGroup(g.Key.Rule, g.First().f.Severity, g.Key.Device, g.Key.CallSite, g.Count(), g.First().f), FirstIndex: g.First().i))
            .OrderByDescending(x => x.Group.Severity).ThenBy(x => x.FirstIndex)
            .Select(x => x.Group).ToList();
}
