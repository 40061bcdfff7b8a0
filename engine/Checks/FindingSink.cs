using DmaReplay.Engine.Findings;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

/// <summary>
/// Where the checks of one input put their findings: the rule switches and suppressions apply
/// here, and the offending and related events become positions and stacks.
/// </summary>
public sealed class FindingSink(CheckOptions options, TraceStrings strings, string input)
{
    private readonly List<Finding> _findings = [];

    public IReadOnlyList<Finding> Findings => _findings;
    /// <summary>Suppressed findings are counted, not kept.</summary>
    public long Suppressed { get; private set; }
    public TraceStrings Strings => strings;
    public string Input => input;

    public bool Enabled(string rule) => options.EnabledRules.Contains(rule);

    /// <param name="severity">The rule's default severity unless given (a rule may raise it for one occurrence).</param>
    internal void Report(string rule, string message, string device, EventOrigin at, ulong dmaAddr, ulong size,
        DmaDirection direction, EventOrigin? related, Severity? severity = null, string? pool = null)
    {
        if (!Enabled(rule)) return;
        var finding = new Finding(
            rule, severity ?? Rules.Find(rule)!.Severity, message, device, dmaAddr, size,
            direction.TraceName(), input, at.Line, at.TimestampNs, at.Cpu, at.Pid, strings.Task(at.Task),
            related is { } r ? new RelatedEvent(input, r.Line, r.TimestampNs) : null,
            Frames(at.Stack), related is { } rs ? Frames(rs.Stack) : []) { Pool = pool };
        if (options.Suppressions.Suppresses(finding))
        {
            Suppressed++;
            return;
        }
        _findings.Add(finding);
    }

    private IReadOnlyList<string> Frames(int stack)
    {
        if (stack < 0) return [];
        var ids = strings.Stacks[stack];
        var frames = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++) frames[i] = strings.Functions[ids[i]];
        return frames;
    }
}
