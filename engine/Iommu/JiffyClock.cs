namespace DmaReplay.Engine.Iommu;

/// <summary>
/// Kernel timers on the trace clock: jiffies advance every 1/HZ s, at ticks that fall
/// <see cref="PhaseNs"/> after each multiple of the tick on the trace clock. A timer armed for
/// jiffies + n fires at the tick that makes jiffies reach that value.
/// </summary>
public sealed class JiffyClock(int hz, long phaseNs)
{
    public long TickNs { get; } = 1_000_000_000L / hz;
    public long PhaseNs { get; } = phaseNs;

    public long Jiffies(long ns) => Math.DivRem(ns - PhaseNs, TickNs, out long rem) - (rem < 0 ? 1 : 0);

    public long TickAt(long jiffies) => PhaseNs + jiffies * TickNs;

    /// <summary>When a timer (or delayed work) armed at <paramref name="nowNs"/> for <paramref name="delayJiffies"/> fires.</summary>
    public long Expiry(long nowNs, long delayJiffies) => TickAt(Jiffies(nowNs) + delayJiffies);
}
