using System.Globalization;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

public sealed partial class MisuseChecker
{
    /// <summary>Windows of the trace whose floors leak-growth compares.</summary>
    public const int GrowthWindows = 8;
    /// <summary>leak-growth needs the last floor at least this much above the first …</summary>
    public const long GrowthMinimumRise = 32;
    /// <summary>… and the floor to rise from one window to the next at least this often (of 7) …</summary>
    public const int GrowthMinimumRisingSteps = 5;
    /// <summary>… and the last quarter of the trace to carry at least this share of the rise (a ring fills, then plateaus).</summary>
    public const double GrowthLastQuarterShare = 0.10;

    /// <summary>
    /// End of the input: every mapping still live is a leak-at-end finding (one per map call, at
    /// the line that mapped it, with its age), then leak-growth per device.
    /// </summary>
    public void Finish(IEnumerable<DeviceActivity> devices)
    {
        var live = _hash.All().Where(e => !e.ReportedAtUnbind).GroupBy(e => e.MapCall)
            .Select(g => (First: g.OrderBy(e => e.Segment).First(), Size: g.Aggregate(0UL, (s, e) => s + e.Size), Segments: g.Count()))
            .OrderBy(x => x.First.Origin.Line).ThenBy(x => x.First.MapCall);
        foreach (var (first, size, segments) in live)
        {
            double age = (_lastTimestampNs - first.Origin.TimestampNs) / 1e9;
            string seg = first.Type == DebugEntryType.Sg ? $" [segments={segments}]" : "";
            Report(Rules.LeakAtEnd, string.Create(CultureInfo.InvariantCulture,
                $"still mapped when the trace ends [device address={Hex16(first.DevAddr)}] [size={size} bytes]{seg} [mapped with {first.Direction.KernelName()}] [mapped as {first.Type.Name()}] [age={age:F6} s]"),
                first.Origin, first.Device, first.DevAddr, size, first.Direction, null);
        }
        foreach (var d in devices) LeakGrowth(d);
    }

    /// <summary>
    /// A leak shows as a rising floor: ring buffers refill and stay level, leaked mappings never
    /// come back. The trace is cut into <see cref="GrowthWindows"/> equal windows; the floor of a
    /// window is the fewest live mappings within it. Growth: no floor below the one before, a rise
    /// in at least <see cref="GrowthMinimumRisingSteps"/> of the 7 steps, the last floor at least
    /// <see cref="GrowthMinimumRise"/> above the first, and still rising at the end — at least
    /// <see cref="GrowthLastQuarterShare"/> of that rise (and 8) in the last quarter: a ring filling at
    /// start-up rises early and then stays level. (A trace so short that start-up fills it entirely
    /// cannot be told from a leak.)
    /// </summary>
    private void LeakGrowth(DeviceActivity d)
    {
        var points = d.LiveMappingsOverTime.Points();
        if (points.Count < GrowthWindows) return;
        var floors = new long[GrowthWindows];
        for (int w = 0; w < GrowthWindows; w++)
        {
            int from = w * points.Count / GrowthWindows, to = (w + 1) * points.Count / GrowthWindows;
            long min = long.MaxValue;
            for (int i = from; i < to; i++) min = Math.Min(min, points[i].Min);
            floors[w] = min;
        }
        int rising = 0;
        for (int w = 1; w < GrowthWindows; w++)
        {
            if (floors[w] < floors[w - 1]) return;
            if (floors[w] > floors[w - 1]) rising++;
        }
        long rise = floors[^1] - floors[0], lateRise = floors[^1] - floors[GrowthWindows * 3 / 4 - 1];
        if (rising < GrowthMinimumRisingSteps || rise < GrowthMinimumRise) return;
        if (lateRise < 8 || lateRise < rise * GrowthLastQuarterShare) return;
        var at = new EventOrigin(_hash.Count > 0 ? _hash.All().First().Origin.Input : 0, 0, _lastTimestampNs, -1, -1, -1, -1);
        Report(Rules.LeakGrowth,
            $"live mappings keep rising: the floor of each eighth of the trace is {string.Join(", ", floors)} [peak={d.PeakLiveMappings}]",
            at, d.Device, 0, d.LiveBytes, DmaDirection.None, null);
    }
}
