using DmaReplay.Parsers.Model;

namespace DmaReplay.Parsers.Synthetic;

/// <summary>
/// The one-row-per-event schema shared by the CSV and Parquet formats (docs/synthetic-format.md):
/// a column per field of the normalized <see cref="DmaEvent"/>, named after it, in this order.
/// </summary>
public static class EventSchema
{
    /// <summary>The schema version these readers and writers speak; files of another version are rejected.</summary>
    public const int Version = 1;

    /// <summary>The first line of a CSV file (a '#' comment, ahead of the header row).</summary>
    public const string CsvMagic = "#dmareplay-events";

    /// <summary>The Parquet key-value metadata key that holds the version.</summary>
    public const string ParquetVersionKey = "dmareplay.schema";

    /// <summary>Column names, indexed by <see cref="EventColumn"/>.</summary>
    public static readonly string[] Names =
    [
        "kind", "timestamp_ns", "cpu", "pid", "tgid", "task", "flags", "device", "dir",
        "dma_addr", "phys_addr", "size", "virt_addr", "gfp", "attrs", "error",
        "nents", "ents", "truncated", "phys_addrs", "dma_addrs", "lengths",
        "dma_mask", "bounce", "unmapped_size", "group_id", "fault_flags",
        "driver", "timeline", "context", "seqno", "pool", "align", "boundary", "managed",
        "kernel_stack", "user_stack",
    ];

    public const int ColumnCount = (int)EventColumn.UserStack + 1;

    /// <summary>The column of a name, or -1.</summary>
    public static int Find(string name) => Array.IndexOf(Names, name);

    private static readonly ulong[] Printed = BuildPrinted();

    /// <summary>
    /// Whether the kernel's (or dmareplay's) line for <paramref name="kind"/> prints the field of
    /// <paramref name="column"/>. Writers always write such a field; any other field only when it
    /// is not the default, so files stay small and every value still survives.
    /// </summary>
    public static bool IsPrinted(DmaEventKind kind, EventColumn column) => (Printed[(int)kind] & (1UL << (int)column)) != 0;

    private static ulong[] BuildPrinted()
    {
        static ulong Bits(params EventColumn[] columns) => columns.Aggregate(0UL, (b, c) => b | 1UL << (int)c);
        ulong context = Bits(EventColumn.Kind, EventColumn.TimestampNs, EventColumn.Cpu, EventColumn.Pid, EventColumn.Task, EventColumn.Flags);
        ulong dev = context | Bits(EventColumn.Device);
        ulong dir = dev | Bits(EventColumn.Dir);
        var t = new ulong[DmaEventKinds.Count];
        foreach (var k in Enum.GetValues<DmaEventKind>())
        {
            t[(int)k] = k switch
            {
                DmaEventKind.DmaMapPage or DmaEventKind.DmaMapResource or DmaEventKind.DmaMapPhys =>
                    dir | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.PhysAddr, EventColumn.Attrs),
                DmaEventKind.DmaUnmapPage or DmaEventKind.DmaUnmapResource or DmaEventKind.DmaUnmapPhys =>
                    dir | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.Attrs),
                DmaEventKind.DmaAlloc => dir | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.VirtAddr, EventColumn.Gfp, EventColumn.Managed, EventColumn.Attrs),
                DmaEventKind.DmaAllocPages or DmaEventKind.DmaAllocSgtErr =>
                    dir | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.VirtAddr, EventColumn.Gfp, EventColumn.Attrs),
                DmaEventKind.DmaFree => dir | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.VirtAddr, EventColumn.Managed, EventColumn.Attrs),
                DmaEventKind.DmaFreePages => dir | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.VirtAddr, EventColumn.Attrs),
                DmaEventKind.DmaAllocSgt => dir | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.Nents, EventColumn.PhysAddrs, EventColumn.Gfp, EventColumn.Attrs),
                DmaEventKind.DmaFreeSgt => dir | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.Nents, EventColumn.PhysAddrs),
                DmaEventKind.DmaMapSg => dir | Bits(EventColumn.Nents, EventColumn.Ents, EventColumn.Truncated, EventColumn.DmaAddrs,
                    EventColumn.Lengths, EventColumn.PhysAddrs, EventColumn.Attrs),
                DmaEventKind.DmaMapSgErr => dir | Bits(EventColumn.Nents, EventColumn.PhysAddrs, EventColumn.Error, EventColumn.Attrs),
                DmaEventKind.DmaUnmapSg => dir | Bits(EventColumn.Nents, EventColumn.PhysAddrs, EventColumn.Attrs),
                DmaEventKind.DmaSyncSingleForCpu or DmaEventKind.DmaSyncSingleForDevice => dir | Bits(EventColumn.DmaAddr, EventColumn.Size),
                DmaEventKind.DmaSyncSgForCpu or DmaEventKind.DmaSyncSgForDevice => dir | Bits(EventColumn.Nents, EventColumn.DmaAddrs, EventColumn.Lengths),
                DmaEventKind.SwiotlbBounced => dev | Bits(EventColumn.DmaMask, EventColumn.DmaAddr, EventColumn.Size, EventColumn.Bounce),
                DmaEventKind.IommuMap => context | Bits(EventColumn.DmaAddr, EventColumn.PhysAddr, EventColumn.Size),
                DmaEventKind.IommuUnmap => context | Bits(EventColumn.DmaAddr, EventColumn.Size, EventColumn.UnmappedSize),
                DmaEventKind.IommuIoPageFault => dev | Bits(EventColumn.Driver, EventColumn.DmaAddr, EventColumn.FaultFlags),
                DmaEventKind.IommuAddDeviceToGroup or DmaEventKind.IommuRemoveDeviceFromGroup => dev | Bits(EventColumn.GroupId),
                DmaEventKind.IommuAttachDeviceToDomain or DmaEventKind.IommuDetachDeviceFromDomain => dev,
                DmaEventKind.DmaPoolCreate => dev | Bits(EventColumn.Size, EventColumn.Align, EventColumn.Boundary, EventColumn.Pool),
                DmaEventKind.DmaPoolDestroy => dev | Bits(EventColumn.Pool),
                DmaEventKind.DmaPoolAlloc => dev | Bits(EventColumn.DmaAddr, EventColumn.VirtAddr, EventColumn.Gfp, EventColumn.Pool),
                DmaEventKind.DmaPoolFree => dev | Bits(EventColumn.DmaAddr, EventColumn.VirtAddr, EventColumn.Pool),
                DmaEventKind.DeviceUnbind => dev | Bits(EventColumn.Driver),
                _ => context | Bits(EventColumn.Driver, EventColumn.Timeline, EventColumn.Context, EventColumn.Seqno), // dma_fence
            };
        }
        return t;
    }
}

/// <summary>The columns of <see cref="EventSchema"/>, in file order.</summary>
public enum EventColumn
{
    Kind, TimestampNs, Cpu, Pid, Tgid, Task, Flags, Device, Dir,
    DmaAddr, PhysAddr, Size, VirtAddr, Gfp, Attrs, Error,
    Nents, Ents, Truncated, PhysAddrs, DmaAddrs, Lengths,
    DmaMask, Bounce, UnmappedSize, GroupId, FaultFlags,
    Driver, Timeline, Context, Seqno, Pool, Align, Boundary, Managed,
    KernelStack, UserStack,
}
