using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Summary;

/// <summary>Accumulates per-device activity of one input from the event stream.</summary>
public sealed class TraceSummaryBuilder : ITraceEventHandler
{
    private DeviceActivity?[] _devices = new DeviceActivity?[16];
    private long _originNs = long.MinValue;

    public void OnEvent(DmaEvent e)
    {
        if (_originNs == long.MinValue) _originNs = e.TimestampNs;
        int d = e.Device;
        if (d < 0) return;
        if (d >= _devices.Length) Array.Resize(ref _devices, Math.Max(d + 1, _devices.Length * 2));
        (_devices[d] ??= new DeviceActivity(d, _originNs)).OnEvent(e);
    }

    /// <summary>Devices seen, in the order of their ids.</summary>
    public IEnumerable<DeviceActivity> Devices => _devices.OfType<DeviceActivity>();
}
