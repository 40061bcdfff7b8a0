namespace DmaReplay.Engine.Findings;

public enum Severity : byte { Info, Warning, Error }

public static class Severities
{
    public static string Key(this Severity s) => s switch
    {
        Severity.Error => "error",
        Severity.Warning => "warning",
        _ => "info",
    };
}

/// <summary>Where a related event (the map of a bad unmap, the first release of a double unmap) is.</summary>
public sealed record RelatedEvent(string Input, long Line, long TimestampNs);

/// <summary>One occurrence of a misuse rule, positioned at the offending event.</summary>
public sealed record Finding(
    string Rule,
    Severity Severity,
    string Message,
    string Device,
    ulong DmaAddr,
    ulong Size,
    string Direction,
    string Input,
    long Line,
    long TimestampNs,
    int Cpu,
    int Pid,
    string Task,
    RelatedEvent? Related,
    IReadOnlyList<string> Stack,
    IReadOnlyList<string> RelatedStack)
{
    /// <summary>The driver frame of <see cref="Stack"/> (see <see cref="CallSites"/>); empty without a stack.</summary>
    public string CallSite => CallSites.Of(Stack);

    /// <summary>The dma_pool a pool rule names; null for every other finding.</summary>
    public string? Pool { get; init; }
}
