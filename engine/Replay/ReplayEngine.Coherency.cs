using DmaReplay.Engine.Coherency;
using DmaReplay.Engine.Direct;
using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

/// <summary>
/// The replay's cache coherency: the arch cache maintenance of every dma-direct map, unmap, sync
/// and coherent allocation of a non-coherent device, the buffers dma_kmalloc_needs_bounce sends
/// through SWIOTLB, and which map the checks downstream see bounced (see <see cref="CoherencyTracker"/>).
/// </summary>
public sealed partial class ReplayEngine : IBounceWitness
{
    private CoherencyTracker? _coh;
    private CoherencyTracker Coh => _coh ??= new CoherencyTracker(_platform.CacheLineBytes);

    // The map event now going downstream: its bounce flags (a single map, or the sg entries).
    private bool _witnessSingle, _witnessValid;
    private bool[]? _witnessSg;

    bool? IBounceWitness.Bounced(DmaEvent e, int segment)
    {
        if (!_witnessValid) return null;
        if (_witnessSg is { } sg) return segment < sg.Length ? sg[segment] : null;
        return segment == 0 ? _witnessSingle : null;
    }

    private void WitnessReset()
    {
        _witnessValid = false;
        _witnessSg = null;
    }

    /// <summary>A buffer mapped on the emulated dma-direct: for_device maintenance, and why it bounced.</summary>
    private void CoherencyMapped(DmaEvent e, DeviceModel m, ulong emulated, bool bounced, ulong phys, ulong size)
    {
        if (bounced)
        {
            Coh.Bounced(e.Device, m.Coherent);
            // dma_kmalloc_needs_bounce never holds for a coherent device: no need to ask why it bounced.
            if (!m.Coherent && DmaDirect.ReasonToBounce(m, _platform, phys, size, e.Direction) == BounceReason.Kmalloc)
                Coh.KmallocBounce(e.Device, m.Coherent, _input, e.Position.Line, _strings, phys, size, e.Direction);
        }
        if (m.Coherent) return;
        // swiotlb_map maintains the slot after the copy in; a direct map maintains the buffer.
        ulong at = bounced ? DmaDirect.DmaToPhys(m, _platform, emulated) : phys;
        Coh.Sync(e.Device, m.Coherent, CoherencyOperation.Map, at, size, e.Direction, e.Attrs);
    }

    /// <summary>dma_direct_unmap_page of one buffer (an unmap or one sg entry): for_cpu on dma_to_phys(handle).</summary>
    private void CoherencyUnmapped(DmaEvent e, DeviceModel m, ulong emulated, ulong size)
    {
        if (m.Coherent || Translated(m)) return;
        Coh.Sync(e.Device, false, CoherencyOperation.Unmap, DmaDirect.DmaToPhys(m, _platform, emulated), size, e.Direction, e.Attrs);
    }

    /// <summary>
    /// A traced sync: on a coherent device that never bounced the emulated kernel skips it whole
    /// (dma_skip_sync); on a non-coherent one arch maintenance runs on dma_to_phys(handle).
    /// </summary>
    private void CoherencySynced(DmaEvent e, DeviceModel m, ulong emulated, ulong size, bool forCpu, bool firstEntry = true)
    {
        if (Translated(m)) return;
        if (m.Coherent)
        {
            if (firstEntry) Coh.SkipsSync(e.Device, true); // one dma_sync_sg_* call
            return;
        }
        Coh.Sync(e.Device, false, forCpu ? CoherencyOperation.SyncForCpu : CoherencyOperation.SyncForDevice,
            DmaDirect.DmaToPhys(m, _platform, emulated), size, e.Direction, DmaAttrs.None);
    }

    /// <summary>dma_direct_alloc of a non-coherent device: arch_dma_prep_coherent and the uncached remap, or the atomic pool.</summary>
    private void CoherencyAlloc(DmaEvent e)
    {
        if (e.DmaAddr == 0 && e.VirtAddr == 0) return; // failed
        var m = Model(e.Device);
        if (m.Coherent || Translated(m)) return;
        bool mayBlock = (e.Gfp & GfpFlags.DirectReclaim) != 0; // gfpflags_allow_blocking
        Coh.Alloc(e.Device, false, DmaDirect.DmaToPhys(m, _platform, e.DmaAddr), e.Size, mayBlock, _platform.Kernel.PageSize);
    }

    private CoherencyReport? CoherencySummary() => _coh?.Report(_strings, _platform);
}
