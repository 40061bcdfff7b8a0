namespace DmaReplay.Parsers.Model;

/// <summary>
/// One normalized trace event. Readers own a few instances and refill them for every event.
/// </summary>
/// <remarks>
/// Lifetime rule (as in TraceEvent): an instance handed to <see cref="ITraceEventHandler.OnEvent"/>
/// is valid only for the duration of that call; the reader overwrites it with the next event.
/// Anything that must outlive the call takes <see cref="ToRecord"/>. The sg arrays are views of
/// reader-owned buffers, so no event allocates.
/// Field meaning per system: dma events use DmaAddr/PhysAddr/Size; <c>swiotlb_bounced</c> puts
/// dev_addr in DmaAddr and dma_mask in DmaMask; iommu <c>map</c>/<c>unmap</c> put iova in DmaAddr,
/// paddr in PhysAddr, size in Size and unmapped_size in UnmappedSize; fences use Driver, Timeline,
/// Context and Seqno; dma_pool events use Pool, Size (block size), Align, Boundary, DmaAddr and
/// VirtAddr; device_unbind puts the driver in Driver.
/// </remarks>
public sealed class DmaEvent
{
    private SgValues _phys = new(), _dma = new(), _lengths = new();

    public DmaEventKind Kind { get; internal set; }
    public SourcePosition Position { get; internal set; }
    public long TimestampNs { get; internal set; }
    public int Cpu { get; internal set; }
    public int Pid { get; internal set; }
    /// <summary>Thread-group id when the trace has the tgid column; -1 otherwise.</summary>
    public int Tgid { get; internal set; }
    /// <summary>Interned task (comm) id in <see cref="TraceStrings.Tasks"/>.</summary>
    public int Task { get; internal set; }
    public TraceContextFlags Flags { get; internal set; }
    public byte PreemptDepth { get; internal set; }
    public byte MigrateDisable { get; internal set; }

    /// <summary>Interned device id in <see cref="TraceStrings.Devices"/>; -1 when the event names none.</summary>
    public int Device { get; internal set; }
    public DmaDirection Direction { get; internal set; }
    /// <summary>The raw direction value when the trace printed a number instead of a name.</summary>
    public uint RawDirection { get; internal set; }
    public DmaAttrs Attrs { get; internal set; }
    public ulong DmaAddr { get; internal set; }
    public ulong PhysAddr { get; internal set; }
    public ulong Size { get; internal set; }
    /// <summary>virt_addr of alloc/free: a %p hash in tracefs text, the raw pointer in trace-cmd output.</summary>
    public ulong VirtAddr { get; internal set; }
    /// <summary>Interned gfp text (<see cref="TraceStrings.Text"/>), -1 when the event has no flags field.</summary>
    public int GfpText { get; internal set; }
    public GfpFlags Gfp { get; internal set; }
    /// <summary>Error code of dma_map_sg_err (negative errno).</summary>
    public int Error { get; internal set; }

    /// <summary>sg: entries passed in (nents) — the full count even when the arrays were truncated.</summary>
    public int Nents { get; internal set; }
    /// <summary>sg: DMA segments returned (ents), full count.</summary>
    public int Ents { get; internal set; }
    /// <summary>sg: the kernel cut the printed arrays at 128 elements (" [TRUNCATED]").</summary>
    public bool Truncated { get; internal set; }
    public ReadOnlySpan<ulong> PhysAddrs => _phys.Span;
    public ReadOnlySpan<ulong> DmaAddrs => _dma.Span;
    public ReadOnlySpan<ulong> Lengths => _lengths.Span;

    // swiotlb
    public ulong DmaMask { get; internal set; }
    public SwiotlbBounceReason BounceReason { get; internal set; }

    // iommu
    public ulong UnmappedSize { get; internal set; }
    public int GroupId { get; internal set; }
    /// <summary>io_page_fault flags; also the iommu driver name for io_page_fault in <see cref="Driver"/>.</summary>
    public int FaultFlags { get; internal set; }

    // dma_fence
    /// <summary>Interned fence driver name (or iommu driver for io_page_fault) in <see cref="TraceStrings.Text"/>.</summary>
    public int Driver { get; internal set; }
    public int Timeline { get; internal set; }
    public uint Context { get; internal set; }
    public ulong Seqno { get; internal set; }

    // dmareplay (synthetic traces only)
    /// <summary>dma_pool: the pool's name, interned in <see cref="TraceStrings.Text"/>; -1 otherwise.</summary>
    public int Pool { get; internal set; }
    /// <summary>dma_pool_create: the align argument (bytes).</summary>
    public ulong Align { get; internal set; }
    /// <summary>dma_pool_create: the boundary argument (bytes, 0 when none).</summary>
    public ulong Boundary { get; internal set; }
    /// <summary>dma_alloc/dma_free made through the managed (dmam_*) API: released at device unbind.</summary>
    public bool Managed { get; internal set; }

    /// <summary>Interned kernel stack (<see cref="TraceStrings.Stacks"/>) that followed the event; -1 when none.</summary>
    public int KernelStack { get; internal set; }
    /// <summary>Interned user stack; -1 when none.</summary>
    public int UserStack { get; internal set; }

    /// <summary>True for a streaming map whose returned handle is DMA_MAPPING_ERROR (all ones).</summary>
    public bool IsMappingError => DmaAddr == DmaAddress.MappingError;

    internal void Reset()
    {
        Device = -1; Direction = DmaDirection.None; RawDirection = 0; Attrs = DmaAttrs.None;
        DmaAddr = 0; PhysAddr = 0; Size = 0; VirtAddr = 0; GfpText = -1; Gfp = GfpFlags.None; Error = 0;
        Nents = 0; Ents = 0; Truncated = false; _phys.Count = _dma.Count = _lengths.Count = 0;
        DmaMask = 0; BounceReason = SwiotlbBounceReason.Normal; UnmappedSize = 0; GroupId = -1; FaultFlags = 0;
        Driver = -1; Timeline = -1; Context = 0; Seqno = 0; KernelStack = -1; UserStack = -1; Tgid = -1;
        Pool = -1; Align = 0; Boundary = 0; Managed = false;
    }

    /// <summary>One of the sg arrays, for a parser to fill in place.</summary>
    internal ref SgValues Values(SgArray which)
    {
        switch (which)
        {
            case SgArray.Phys: return ref _phys;
            case SgArray.Dma: return ref _dma;
            default: return ref _lengths;
        }
    }

    internal void ClearArrays(SgArray which) => Values(which).Count = 0;

    internal void Append(SgArray which, ulong value) => Values(which).Append(value);

    /// <summary>Makes this instance a copy of <paramref name="o"/> (arrays copied into this instance's buffers).</summary>
    internal void CopyFrom(DmaEvent o)
    {
        Kind = o.Kind; Position = o.Position; TimestampNs = o.TimestampNs; Cpu = o.Cpu; Pid = o.Pid; Tgid = o.Tgid;
        Task = o.Task; Flags = o.Flags; PreemptDepth = o.PreemptDepth; MigrateDisable = o.MigrateDisable;
        Device = o.Device; Direction = o.Direction; RawDirection = o.RawDirection; Attrs = o.Attrs;
        DmaAddr = o.DmaAddr; PhysAddr = o.PhysAddr; Size = o.Size; VirtAddr = o.VirtAddr; GfpText = o.GfpText; Gfp = o.Gfp;
        Error = o.Error; Nents = o.Nents; Ents = o.Ents; Truncated = o.Truncated;
        SetArray(SgArray.Phys, o.PhysAddrs);
        SetArray(SgArray.Dma, o.DmaAddrs);
        SetArray(SgArray.Lengths, o.Lengths);
        DmaMask = o.DmaMask; BounceReason = o.BounceReason; UnmappedSize = o.UnmappedSize; GroupId = o.GroupId;
        FaultFlags = o.FaultFlags; Driver = o.Driver; Timeline = o.Timeline; Context = o.Context; Seqno = o.Seqno;
        KernelStack = o.KernelStack; UserStack = o.UserStack;
        Pool = o.Pool; Align = o.Align; Boundary = o.Boundary; Managed = o.Managed;
    }

    internal void SetArray(SgArray which, ReadOnlySpan<ulong> values)
    {
        ClearArrays(which);
        foreach (ulong v in values) Append(which, v);
    }

    /// <summary>Copies this event into an immutable record that may be kept.</summary>
    public DmaEventRecord ToRecord() => new(
        Kind, Position, TimestampNs, Cpu, Pid, Tgid, Task, Flags, PreemptDepth, MigrateDisable,
        Device, Direction, Attrs, DmaAddr, PhysAddr, Size, VirtAddr, GfpText, Gfp, Error,
        Nents, Ents, Truncated, PhysAddrs.ToArray(), DmaAddrs.ToArray(), Lengths.ToArray(),
        DmaMask, BounceReason, UnmappedSize, GroupId, FaultFlags, Driver, Timeline, Context, Seqno,
        KernelStack, UserStack, Pool, Align, Boundary, Managed);
}

/// <summary>A reader-owned array of sg values and how many of them are in use.</summary>
internal struct SgValues()
{
    public ulong[] Items = new ulong[16];
    public int Count;

    public readonly ReadOnlySpan<ulong> Span => Items.AsSpan(0, Count);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void Append(ulong value)
    {
        if (Count == Items.Length) Grow();
        Items[Count++] = value;
    }

    /// <summary>Doubles the array, keeping its values; returns the new array.</summary>
    public ulong[] Grow()
    {
        Array.Resize(ref Items, Items.Length * 2);
        return Items;
    }
}

/// <summary>Which sg array of an event a value belongs to.</summary>
internal enum SgArray : byte { Phys, Dma, Lengths }

/// <summary>Why swiotlb_bounced fired (the last word of its line).</summary>
public enum SwiotlbBounceReason : byte { Normal, Force, NoForce }

public static class DmaAddress
{
    /// <summary>DMA_MAPPING_ERROR on 64-bit dma_addr_t.</summary>
    public const ulong MappingError = ulong.MaxValue;
}

/// <summary>An immutable copy of a <see cref="DmaEvent"/>.</summary>
public sealed record DmaEventRecord(
    DmaEventKind Kind, SourcePosition Position, long TimestampNs, int Cpu, int Pid, int Tgid, int Task,
    TraceContextFlags Flags, byte PreemptDepth, byte MigrateDisable,
    int Device, DmaDirection Direction, DmaAttrs Attrs, ulong DmaAddr, ulong PhysAddr, ulong Size,
    ulong VirtAddr, int GfpText, GfpFlags Gfp, int Error,
    int Nents, int Ents, bool Truncated, ulong[] PhysAddrs, ulong[] DmaAddrs, ulong[] Lengths,
    ulong DmaMask, SwiotlbBounceReason BounceReason, ulong UnmappedSize, int GroupId, int FaultFlags,
    int Driver, int Timeline, uint Context, ulong Seqno, int KernelStack, int UserStack,
    int Pool, ulong Align, ulong Boundary, bool Managed);
