namespace DmaReplay.Parsers;

/// <summary>
/// Why a line produced no DMA event. Together with parsed events and malformed lines these
/// account for every line of an input: lines = events + Σ skipped + malformed.
/// </summary>
public enum SkipReason : byte
{
    /// <summary>'#' header/comment lines, trace-cmd's "cpus=N" and similar file headers.</summary>
    Header,
    Blank,
    /// <summary>"&lt;stack trace&gt;" / "&lt;user stack trace&gt;" entries and their " => func" lines.</summary>
    StackTrace,
    /// <summary>An event of another system (tracing_mark_write, sched_switch, …): counted by name.</summary>
    OtherEvent,
    /// <summary>"##### CPU N buffer started ####": the ring buffer of that CPU wrapped.</summary>
    CpuBufferStarted,
    /// <summary>"CPU:N [LOST M EVENTS]" / trace-cmd "CPU:N [M EVENTS DROPPED]".</summary>
    LostEventsMarker,
}

public static class SkipReasons
{
    public const int Count = (int)SkipReason.LostEventsMarker + 1;

    /// <summary>The key used in summary.json "skipped".</summary>
    public static string Key(this SkipReason r) => r switch
    {
        SkipReason.Header => "header",
        SkipReason.Blank => "blank",
        SkipReason.StackTrace => "stack-trace",
        SkipReason.OtherEvent => "other-event",
        SkipReason.CpuBufferStarted => "cpu-buffer-started",
        _ => "lost-events-marker",
    };
}
