using DmaReplay.Engine.Coherency;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

/// <summary>
/// Cache-line overlaps on non-coherent devices. dma-debug's EEXIST (add_dma_entry, 6.12) is
/// reported as the kernel does; on a device that does not snoop the caches the finding says that
/// the shared line's maintenance can corrupt data. dma-debug leaves every overlap out when
/// CONFIG_DMA_BOUNCE_UNALIGNED_KMALLOC is on and SWIOTLB active, on the assumption that the
/// small buffer was bounced; DmaReplay knows whether it was (the replay's own decision, or the
/// trace's swiotlb_bounced line) and reports the overlaps of buffers that were not.
/// </summary>
public sealed partial class MisuseChecker
{
    private const string NonCoherentOverlap =
        " [non-coherent device: maintenance of the shared cache line can corrupt the other mapping's data]";
    private const string NonCoherentUnbouncedOverlap =
        " [non-coherent device, buffer not bounced: dma-debug's unaligned-kmalloc exemption does not hold, maintenance of the shared cache line can corrupt the other mapping's data]";

    private readonly TraceBounces _traceBounces = new();

    /// <summary>The replay's bounce decisions; without it the trace's swiotlb_bounced lines say which maps bounced.</summary>
    public IBounceWitness? BounceWitness { get; set; }

    /// <summary>
    /// The overlap dma-debug exempts only because unaligned kmalloc buffers bounce on this platform
    /// (dma_get_cache_alignment() &gt;= L1_CACHE_BYTES otherwise reporting), and this entry did not bounce.
    /// </summary>
    private bool NotBouncedOnKmallocPlatform(DmaEvent e, int segment)
    {
        var p = _options.Platform;
        if (!p.BounceUnalignedKmalloc || p.DmaCacheAlignment < p.L1CacheBytes) return false;
        bool? bounced = BounceWitness is { } w ? w.Bounced(e, segment) : _traceBounces.Bounced(e, segment);
        return bounced == false;
    }

    /// <summary>
    /// swiotlb_bounced lines not yet claimed by a map on their CPU: swiotlb_map emits one right
    /// before the slot search, and the map event follows on the same CPU. dev_addr is
    /// phys_to_dma(original buffer): the buffer's physical address on a platform without DMA offsets.
    /// </summary>
    private sealed class TraceBounces : IBounceWitness
    {
        private readonly List<(int Cpu, int Device, ulong DevAddr, ulong Size)> _pending = [];

        public bool Pending => _pending.Count > 0;

        public void Add(DmaEvent e) => _pending.Add((e.Cpu, e.Device, e.DmaAddr, e.Size));

        /// <summary>The map on this CPU took its bounces.</summary>
        public void Consumed(int cpu)
        {
            int kept = 0;
            for (int i = 0; i < _pending.Count; i++)
            {
                if (_pending[i].Cpu != cpu) _pending[kept++] = _pending[i];
            }
            _pending.RemoveRange(kept, _pending.Count - kept);
        }

        public bool? Bounced(DmaEvent e, int segment)
        {
            ulong phys, size;
            if (e.Kind == DmaEventKind.DmaMapSg)
            {
                if (segment >= e.PhysAddrs.Length || segment >= e.Lengths.Length) return null;
                (phys, size) = (e.PhysAddrs[segment], e.Lengths[segment]);
            }
            else
            {
                (phys, size) = (e.PhysAddr, e.Size);
            }
            foreach (var p in _pending)
            {
                if (p.Cpu == e.Cpu && p.Device == e.Device && p.DevAddr == phys && p.Size == size) return true;
            }
            return false;
        }
    }
}
