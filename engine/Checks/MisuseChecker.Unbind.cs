using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

public sealed partial class MisuseChecker
{
    /// <summary>
    /// A driver unbound from its device (drivers/base/dd.c device_unbind_cleanup): devres first
    /// releases the managed (dmam_*) allocations, as dmam_release → dma_free_coherent does, then
    /// dma-debug's BUS_NOTIFY_UNBOUND_DRIVER check (debug.c dma_debug_device_change) counts what
    /// the device still has mapped: each remaining map call is a leak-at-unbind finding worded as
    /// the kernel's "device driver has pending DMA allocations while released from device", at the
    /// unbind, related to the map. Its entries stay (as in dma-debug) but are not reported again
    /// as leak-at-end.
    /// </summary>
    private void Unbind(DmaEvent e)
    {
        var leaked = new List<int>();
        foreach (int id in _hash.AllIds())
        {
            ref var entry = ref _hash[id];
            if (entry.Device != e.Device || entry.ReportedAtUnbind) continue;
            if (entry.Managed) Release(id, e);
            else leaked.Add(id);
        }
        if (leaked.Count == 0) return;
        var reported = new HashSet<long>();
        foreach (int id in leaked.OrderBy(i => _hash[i].Origin.Line).ThenBy(i => _hash[i].MapCall).ThenBy(i => _hash[i].Segment))
        {
            ref var entry = ref _hash[id];
            entry.ReportedAtUnbind = true;
            if (!reported.Add(entry.MapCall)) continue;
            ulong size = 0;
            foreach (int other in leaked)
            {
                if (_hash[other].MapCall == entry.MapCall) size += _hash[other].Size;
            }
            Report(Rules.LeakAtUnbind,
                $"device driver has pending DMA allocations while released from device [count={leaked.Count}] [device address={Hex16(entry.DevAddr)}] [size={size} bytes] [mapped with {entry.Direction.KernelName()}] [mapped as {entry.Type.Name()}]",
                e, entry.DevAddr, size, entry.Direction, entry.Origin);
        }
    }
}
