using System.Runtime.CompilerServices;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Summary;

/// <summary>
/// What one device did in one input: events naming it, maps and unmaps, and its live mappings
/// over time. A mapping is live from a successful map or alloc to the unmap or free that names
/// it: streaming mappings by DMA address, sg lists by the physical address of their first entry
/// (dma_unmap_sg prints only physical addresses), coherent allocations by DMA address. An sg
/// list counts as one mapping of the sum of its segment lengths. Managed (dmam_*) allocations are
/// kept apart: a device_unbind releases them (devres, no dma_free in the trace), the rest stay live.
/// </summary>
public sealed class DeviceActivity
{
    /// <summary>Live mappings by address, one map per <see cref="MappingClass"/>.</summary>
    private readonly AddressMap<LiveSet>[] _live = [new(), new(), new(), new()];
    /// <summary>The live managed allocations (all of <see cref="MappingClass.ManagedAllocation"/>), which an unbind releases at once.</summary>
    private long _managedMappings;
    private ulong _managedBytes;

    internal DeviceActivity(int device, long originNs)
    {
        Device = device;
        LiveMappingsOverTime = new DownsampledSeries(originNs);
    }

    public int Device { get; }
    public long Events { get; private set; }
    public long Maps { get; private set; }
    public long MapFailures { get; private set; }
    public long Unmaps { get; private set; }
    /// <summary>Unmaps or frees that named no live mapping of this device (the checks issue reports them as findings).</summary>
    public long UnmatchedUnmaps { get; private set; }
    public long LiveMappings { get; private set; }
    public ulong LiveBytes { get; private set; }
    public long PeakLiveMappings { get; private set; }
    public ulong PeakLiveBytes { get; private set; }
    public DownsampledSeries LiveMappingsOverTime { get; }

    internal void OnEvent(DmaEvent e)
    {
        Events++;
        var kind = e.Kind;
        if (kind.IsMapOrAlloc())
        {
            if (IsFailedMapOrAlloc(e))
            {
                MapFailures++;
                return;
            }
            Maps++;
            Add(KeyOf(e), BytesOf(e), e.TimestampNs);
        }
        else if (kind.IsUnmapOrFree())
        {
            Unmaps++;
            var key = KeyOf(e);
            if (!Remove(key, e.TimestampNs) && !RemoveOtherAllocation(key, e.TimestampNs)) UnmatchedUnmaps++;
        }
        else if (kind == DmaEventKind.DeviceUnbind)
        {
            ReleaseManaged(e.TimestampNs);
        }
    }

    /// <summary>A free names no managed flag of its own for sure (dmam_free_coherent): an allocation not found is looked for in the other class.</summary>
    private bool RemoveOtherAllocation(LiveKey key, long t) => key.Class switch
    {
        MappingClass.Allocation => Remove(key with { Class = MappingClass.ManagedAllocation }, t),
        MappingClass.ManagedAllocation => Remove(key with { Class = MappingClass.Allocation }, t),
        _ => false,
    };

    /// <summary>
    /// device_unbind: devres releases every managed allocation still live (dmam_release →
    /// dma_free_coherent, not traced here), so they stop counting; unmanaged ones stay live.
    /// </summary>
    private void ReleaseManaged(long t)
    {
        if (_managedMappings == 0) return;
        LiveMappings -= _managedMappings;
        LiveBytes -= _managedBytes;
        _managedMappings = 0;
        _managedBytes = 0;
        _live[(int)MappingClass.ManagedAllocation] = new();
        LiveMappingsOverTime.Record(t, LiveMappings);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsFailedMapOrAlloc(DmaEvent e) => e.Kind switch
    {
        DmaEventKind.DmaMapSg => e.Ents == 0,
        DmaEventKind.DmaAlloc or DmaEventKind.DmaAllocPages or DmaEventKind.DmaAllocSgt => e.VirtAddr == 0 && e.DmaAddr == 0,
        _ => e.IsMappingError,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static LiveKey KeyOf(DmaEvent e) => e.Kind switch
    {
        DmaEventKind.DmaMapSg or DmaEventKind.DmaUnmapSg =>
            new LiveKey(MappingClass.ScatterGather, e.PhysAddrs.IsEmpty ? 0 : e.PhysAddrs[0]),
        DmaEventKind.DmaAlloc or DmaEventKind.DmaFree or DmaEventKind.DmaAllocPages or DmaEventKind.DmaFreePages
            or DmaEventKind.DmaAllocSgt or DmaEventKind.DmaFreeSgt => new LiveKey(e.Managed ? MappingClass.ManagedAllocation : MappingClass.Allocation, e.DmaAddr),
        _ => new LiveKey(MappingClass.Streaming, e.DmaAddr),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong BytesOf(DmaEvent e)
    {
        if (e.Kind != DmaEventKind.DmaMapSg) return e.Size;
        ulong sum = 0;
        foreach (ulong len in e.Lengths) sum += len;
        return sum;
    }

    private void Add(LiveKey key, ulong bytes, long t)
    {
        ref var set = ref _live[(int)key.Class].GetValueRefOrAddDefault(key.Address, out _);
        set.Count++;
        set.Bytes += bytes;
        if (key.Class == MappingClass.ManagedAllocation)
        {
            _managedMappings++;
            _managedBytes += bytes;
        }
        LiveMappings++;
        LiveBytes += bytes;
        if (LiveMappings > PeakLiveMappings) PeakLiveMappings = LiveMappings;
        if (LiveBytes > PeakLiveBytes) PeakLiveBytes = LiveBytes;
        LiveMappingsOverTime.Record(t, LiveMappings);
    }

    private bool Remove(LiveKey key, long t)
    {
        var live = _live[(int)key.Class];
        int slot = live.Find(key.Address);
        if (slot < 0) return false;
        ref var set = ref live.ValueAt(slot);
        // Same key mapped more than once: release an equal share (no division for the usual single mapping).
        ulong bytes = set.Count == 1 ? set.Bytes : set.Bytes / (ulong)set.Count;
        set.Count--;
        set.Bytes -= bytes;
        if (set.Count == 0) live.RemoveAt(slot);
        if (key.Class == MappingClass.ManagedAllocation)
        {
            _managedMappings--;
            _managedBytes -= bytes;
        }
        LiveMappings--;
        LiveBytes -= bytes;
        LiveMappingsOverTime.Record(t, LiveMappings);
        return true;
    }

    private enum MappingClass : byte { Streaming, ScatterGather, Allocation, ManagedAllocation }

    private readonly record struct LiveKey(MappingClass Class, ulong Address);

    private struct LiveSet
    {
        public int Count;
        public ulong Bytes;
    }
}
