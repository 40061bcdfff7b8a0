namespace DmaReplay.Parsers.Model;

/// <summary>
/// The latency-format flag column ("d.h1."): irq state, need-resched, hard/soft irq context
/// (kernel/trace/trace_output.c, trace_print_lat_fmt). Preempt depth and migrate-disable are kept
/// separately as numbers.
/// </summary>
[Flags]
public enum TraceContextFlags : ushort
{
    None = 0,
    IrqsOff = 1 << 0,
    BhOff = 1 << 1,
    IrqStateUnsupported = 1 << 2,
    NeedResched = 1 << 3,
    PreemptNeedResched = 1 << 4,
    NeedReschedLazy = 1 << 5,
    HardIrq = 1 << 6,
    SoftIrq = 1 << 7,
    Nmi = 1 << 8,
    /// <summary>The line carried no flag column (irq-info option off).</summary>
    NoFlagColumn = 1 << 9,
}

public static class TraceContextFlagsExtensions
{
    /// <summary>True when the event ran in hard irq, soft irq or NMI context: an atomic caller.</summary>
    public static bool InInterrupt(this TraceContextFlags f) =>
        (f & (TraceContextFlags.HardIrq | TraceContextFlags.SoftIrq | TraceContextFlags.Nmi)) != 0;
}
