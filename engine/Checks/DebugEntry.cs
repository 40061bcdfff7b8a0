using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Checks;

/// <summary>dma-debug's entry types (kernel/dma/debug.c); a map and its release must agree on it.</summary>
internal enum DebugEntryType : byte { Single, Sg, Coherent, Noncoherent, Phy, Resource }

internal static class DebugEntryTypes
{
    /// <summary>type2name[] of debug.c.</summary>
    public static string Name(this DebugEntryType t) => t switch
    {
        DebugEntryType.Single => "single",
        DebugEntryType.Sg => "scatter-gather",
        DebugEntryType.Coherent => "coherent",
        DebugEntryType.Noncoherent => "noncoherent",
        DebugEntryType.Phy => "phy",
        _ => "resource",
    };

    /// <summary>The entry type a map or release event creates or names.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static DebugEntryType Of(DmaEventKind kind) => kind switch
    {
        DmaEventKind.DmaMapPage or DmaEventKind.DmaUnmapPage or DmaEventKind.DmaSyncSingleForCpu
            or DmaEventKind.DmaSyncSingleForDevice => DebugEntryType.Single,
        DmaEventKind.DmaMapPhys or DmaEventKind.DmaUnmapPhys => DebugEntryType.Phy,
        DmaEventKind.DmaMapResource or DmaEventKind.DmaUnmapResource => DebugEntryType.Resource,
        DmaEventKind.DmaAlloc or DmaEventKind.DmaFree => DebugEntryType.Coherent,
        DmaEventKind.DmaAllocPages or DmaEventKind.DmaFreePages => DebugEntryType.Noncoherent,
        _ => DebugEntryType.Sg,
    };
}

/// <summary>Where and by whom an event happened: enough to position a finding or its related event.</summary>
internal readonly record struct EventOrigin(int Input, long Line, long TimestampNs, int Cpu, int Pid, int Task, int Stack)
{
    public static EventOrigin Of(DmaEvent e) =>
        new(e.Position.Input, e.Position.Line, e.TimestampNs, e.Cpu, e.Pid, e.Task, e.KernelStack);
}

/// <summary>
/// struct dma_debug_entry: one tracked mapping (one per mapped segment for sg lists). Entries live
/// in one array of <see cref="DmaDebugHash"/> and are named by their index there; the bucket list
/// links are indices too, so the hash is a few flat arrays the collector never has to trace, and
/// a bucket walk reads the fields it compares from one place.
/// </summary>
internal struct DebugEntry
{
    // What __hash_bucket_find compares, first, next to the bucket links it follows.
    public int Device;
    public DebugEntryType Type;
    public DmaDirection Direction;
    public int SgCallEnts;
    public ulong DevAddr;
    public ulong Size;
    internal int Next; // next entry of the bucket (or of the free list); DmaDebugHash.None at the end
    internal int Prev;

    public int SgMappedEnts;
    /// <summary>CPU physical address; for coherent allocations the trace's virt_addr stands in (same pointer, same value).</summary>
    public ulong PhysAddr;
    public DmaAttrs Attrs;
    public EventOrigin Origin;
    /// <summary>The map call this entry came from: all segments of one dma_map_sg share it.</summary>
    public long MapCall;
    /// <summary>Index of this segment within its map call (0 for single mappings).</summary>
    public int Segment;
    /// <summary>Inserted into the active-cacheline tracking (a real physical address was known).</summary>
    public bool TracksCacheline;
    /// <summary>For dma_map_sg segments: the id of the list record that pairs the unmap (valid while its Call equals <see cref="MapCall"/>); else <see cref="ScatterGatherLists.NoList"/>.</summary>
    public int SgList;
    /// <summary>A dmam_* allocation: devres frees it at driver unbind.</summary>
    public bool Managed;
    /// <summary>Reported as leak-at-unbind already: not reported again as leak-at-end.</summary>
    public bool ReportedAtUnbind;
}

/// <summary>The lookup reference of a release or sync (the kernel's on-stack "ref" entry).</summary>
internal readonly record struct DebugRef(
    int Device, ulong DevAddr, ulong Size, DebugEntryType Type, DmaDirection Direction, int SgCallEnts, ulong PhysAddr);
