using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Synthetic;

namespace DmaReplay.Parsers.Ftrace;

/// <summary>
/// Writes any <see cref="DmaEvent"/> back as a tracefs <c>trace</c> line in the exact form
/// <see cref="FtraceTextReader"/> parses (the kernel's TP_printk of each event, dmareplay's own
/// for the synthetic ones), followed by its kernel and user stacks, so ftrace text is a lossless
/// target of a conversion: reading the output gives the same events.
/// </summary>
/// <remarks>
/// The context is trace_print_context's: "%16s-%-7d", "(%7d) " when the event has a tgid,
/// "[%03d] ", the latency column when the event has one, and the timestamp as "%5lu.%06lu"
/// (nine fractional digits, as trace-cmd --ts-ns prints, when it is not whole microseconds).
/// dma_map_sg takes the 6.12.y form with its nents/ents counts, iommu map/unmap the form with the
/// iova range end. Nothing is allocated per event.
/// </remarks>
public sealed class FtraceEventWriter : Input.ITraceEventWriter
{
    private readonly FtraceLineWriter _w;
    private readonly TraceStrings _strings;
    private readonly byte[] _scratch = new byte[EventText.MaxAttrsLength];

    public FtraceEventWriter(Stream stream, TraceStrings strings)
    {
        _w = new FtraceLineWriter(stream);
        _strings = strings;
        _w.Raw("# tracer: nop\n#\n"u8);
    }

    public long Events { get; private set; }
    public long Bytes => _w.Bytes;

    public void OnEvent(DmaEvent e) => Write(e);

    public void Write(DmaEvent e)
    {
        _w.EnsureRoom(FtraceLineWriter.MaxLineLength);
        Context(e);
        _w.Raw(EventName(e.Kind));
        _w.Raw(": "u8);
        Body(e);
        _w.End();
        if (e.KernelStack >= 0) Stack(e, e.KernelStack, "<stack trace>"u8);
        if (e.UserStack >= 0) Stack(e, e.UserStack, "<user stack trace>"u8);
        Events++;
    }

    private static readonly byte[][] Names = Enumerable.Range(0, DmaEventKinds.Count)
        .Select(k => System.Text.Encoding.ASCII.GetBytes(((DmaEventKind)k).Name())).ToArray();

    private static ReadOnlySpan<byte> EventName(DmaEventKind kind) => Names[(int)kind];

    private void Context(DmaEvent e)
    {
        _w.RightAligned(e.Task >= 0 ? _strings.Tasks.Utf8(e.Task) : default, 16);
        _w.Byte((byte)'-');
        _w.LeftAligned((ulong)e.Pid, 7);
        _w.Byte((byte)' ');
        if (e.Tgid >= 0)
        {
            _w.Byte((byte)'(');
            _w.RightAligned(default, 7 - Digits((ulong)e.Tgid));
            _w.Dec((ulong)e.Tgid);
            _w.Raw(") "u8);
        }
        _w.Byte((byte)'[');
        _w.Padded((ulong)e.Cpu, 3, (byte)'0');
        _w.Raw("] "u8);
        int n = EventText.LatencyFlags(e.Flags, e.PreemptDepth, e.MigrateDisable, _scratch);
        if (n > 0)
        {
            _w.Raw(_scratch.AsSpan(0, n));
            _w.Byte((byte)' ');
        }
        ulong ns = (ulong)e.TimestampNs;
        _w.Padded(ns / 1_000_000_000, 5, (byte)' ');
        _w.Byte((byte)'.');
        if (ns % 1000 == 0) _w.Padded(ns % 1_000_000_000 / 1000, 6, (byte)'0');
        else _w.Padded(ns % 1_000_000_000, 9, (byte)'0');
        _w.Raw(": "u8);
    }

    private static int Digits(ulong v)
    {
        int d = 1;
        for (; v >= 10; v /= 10) d++;
        return d;
    }

    private void Body(DmaEvent e)
    {
        switch (e.Kind)
        {
            case DmaEventKind.DmaMapPage or DmaEventKind.DmaMapResource or DmaEventKind.DmaMapPhys:
                DevDir(e); DmaAddrSize(e); Hex(" phys_addr="u8, e.PhysAddr); Attrs(e);
                break;
            case DmaEventKind.DmaUnmapPage or DmaEventKind.DmaUnmapResource or DmaEventKind.DmaUnmapPhys:
                DevDir(e); DmaAddrSize(e); Attrs(e);
                break;
            case DmaEventKind.DmaAlloc or DmaEventKind.DmaAllocPages or DmaEventKind.DmaAllocSgtErr:
                DevDir(e); DmaAddrSize(e); Hex(" virt_addr="u8, e.VirtAddr); Gfp(e); Managed(e); Attrs(e);
                break;
            case DmaEventKind.DmaAllocSgt:
                DevDir(e); DmaAddrSize(e); Array(" phys_addrs="u8, e.PhysAddrs); Gfp(e); Attrs(e);
                break;
            case DmaEventKind.DmaFree or DmaEventKind.DmaFreePages:
                DevDir(e); DmaAddrSize(e); Hex(" virt_addr="u8, e.VirtAddr); Managed(e); Attrs(e);
                break;
            case DmaEventKind.DmaFreeSgt:
                DevDir(e); DmaAddrSize(e); Array(" phys_addrs="u8, e.PhysAddrs);
                break;
            case DmaEventKind.DmaMapSg:
                DevDir(e);
                Count(" nents="u8, e.PhysAddrs.Length, e.Nents);
                Count(" ents="u8, e.DmaAddrs.Length, e.Ents);
                if (e.Truncated) _w.Raw(" [TRUNCATED]"u8);
                Array(" dma_addrs="u8, e.DmaAddrs); Array(" sizes="u8, e.Lengths); Array(" phys_addrs="u8, e.PhysAddrs); Attrs(e);
                break;
            case DmaEventKind.DmaMapSgErr:
                DevDir(e); Array(" dma_addrs="u8, e.PhysAddrs); _w.Raw(" err="u8); _w.Int(e.Error); Attrs(e);
                break;
            case DmaEventKind.DmaUnmapSg:
                DevDir(e); Array(" phys_addrs="u8, e.PhysAddrs); Attrs(e);
                break;
            case DmaEventKind.DmaSyncSingleForCpu or DmaEventKind.DmaSyncSingleForDevice:
                DevDir(e); DmaAddrSize(e);
                break;
            case DmaEventKind.DmaSyncSgForCpu or DmaEventKind.DmaSyncSgForDevice:
                DevDir(e); Array(" dma_addrs="u8, e.DmaAddrs); Array(" sizes="u8, e.Lengths);
                break;
            case DmaEventKind.SwiotlbBounced:
                _w.Raw("dev_name: "u8); Device(e); Hex(" dma_mask="u8, e.DmaMask); Hex(" dev_addr="u8, e.DmaAddr);
                Dec(" size="u8, e.Size); _w.Byte((byte)' '); _w.Raw(EventText.BounceReason(e.BounceReason));
                break;
            case DmaEventKind.IommuMap:
                Iova(e); Hex016(" paddr=0x"u8, e.PhysAddr); Dec(" size="u8, e.Size);
                break;
            case DmaEventKind.IommuUnmap:
                Iova(e); Dec(" size="u8, e.Size); Dec(" unmapped_size="u8, e.UnmappedSize);
                break;
            case DmaEventKind.IommuIoPageFault:
                _w.Raw("IOMMU:"u8); Text(e.Driver); _w.Byte((byte)' '); Device(e);
                Hex016(" iova=0x"u8, e.DmaAddr); _w.Raw(" flags=0x"u8); Hex04((ulong)(uint)e.FaultFlags);
                break;
            case DmaEventKind.IommuAddDeviceToGroup or DmaEventKind.IommuRemoveDeviceFromGroup:
                _w.Raw("IOMMU: groupID="u8); _w.Int(e.GroupId); _w.Raw(" device="u8); Device(e);
                break;
            case DmaEventKind.IommuAttachDeviceToDomain or DmaEventKind.IommuDetachDeviceFromDomain:
                _w.Raw("IOMMU: device="u8); Device(e);
                break;
            case DmaEventKind.DmaPoolCreate:
                Device(e); Dec(" size="u8, e.Size); Dec(" align="u8, e.Align); Dec(" boundary="u8, e.Boundary); Pool(e);
                break;
            case DmaEventKind.DmaPoolDestroy:
                Device(e); Pool(e);
                break;
            case DmaEventKind.DmaPoolAlloc:
                Device(e); Hex(" dma_addr="u8, e.DmaAddr); Hex(" virt_addr="u8, e.VirtAddr); Gfp(e); Pool(e);
                break;
            case DmaEventKind.DmaPoolFree:
                Device(e); Hex(" dma_addr="u8, e.DmaAddr); Hex(" virt_addr="u8, e.VirtAddr); Pool(e);
                break;
            case DmaEventKind.DeviceUnbind:
                Device(e); _w.Raw(" driver="u8); Text(e.Driver);
                break;
            default: // dma_fence: "driver=%s timeline=%s context=%u seqno=%u"
                _w.Raw("driver="u8); Text(e.Driver); _w.Raw(" timeline="u8); Text(e.Timeline);
                Dec(" context="u8, e.Context); Dec(" seqno="u8, e.Seqno);
                break;
        }
    }

    private void Device(DmaEvent e)
    {
        if (e.Device >= 0) _w.Raw(_strings.Devices.Utf8(e.Device));
    }

    private void Text(int id)
    {
        if (id >= 0) _w.Raw(_strings.Text.Utf8(id));
    }

    private void DevDir(DmaEvent e)
    {
        Device(e);
        _w.Raw(" dir="u8);
        int n = EventText.Direction(e.Direction, e.RawDirection, _scratch);
        _w.Raw(_scratch.AsSpan(0, n));
    }

    private void DmaAddrSize(DmaEvent e)
    {
        Hex(" dma_addr="u8, e.DmaAddr);
        Dec(" size="u8, e.Size);
    }

    private void Hex(ReadOnlySpan<byte> key, ulong v)
    {
        _w.Raw(key);
        _w.Hex(v);
    }

    private void Dec(ReadOnlySpan<byte> key, ulong v)
    {
        _w.Raw(key);
        _w.Dec(v);
    }

    /// <summary>key then 0x%016llx's digits (the key ends in "0x").</summary>
    private void Hex016(ReadOnlySpan<byte> key, ulong v)
    {
        _w.Raw(key);
        _w.Hex16(v);
    }

    private void Hex04(ulong v)
    {
        int digits = v == 0 ? 1 : (67 - System.Numerics.BitOperations.LeadingZeroCount(v)) >> 2;
        for (int i = digits; i < 4; i++) _w.Byte((byte)'0');
        _w.Hex(v);
    }

    // "IOMMU: iova=0x%016llx - 0x%016llx"
    private void Iova(DmaEvent e)
    {
        _w.Raw("IOMMU: iova=0x"u8);
        _w.Hex16(e.DmaAddr);
        _w.Raw(" - 0x"u8);
        _w.Hex16(e.DmaAddr + e.Size);
    }

    /// <summary>"nents=%d/%d": the recorded (printed) count, then the full one.</summary>
    private void Count(ReadOnlySpan<byte> key, int recorded, int total)
    {
        _w.Raw(key);
        _w.Dec((ulong)recorded);
        _w.Byte((byte)'/');
        _w.Dec((ulong)total);
    }

    private void Gfp(DmaEvent e)
    {
        _w.Raw(" flags="u8);
        Text(e.GfpText);
    }

    private void Managed(DmaEvent e)
    {
        if (e.Managed) _w.Raw(" managed"u8);
    }

    private void Attrs(DmaEvent e)
    {
        _w.Raw(" attrs="u8);
        int n = EventText.Attrs(e.Attrs, _scratch);
        _w.Raw(_scratch.AsSpan(0, n));
    }

    private void Pool(DmaEvent e)
    {
        _w.Raw(" pool="u8);
        Text(e.Pool);
    }

    /// <summary>__print_array: "{0x1,0x2}".</summary>
    private void Array(ReadOnlySpan<byte> key, ReadOnlySpan<ulong> values)
    {
        _w.Raw(key);
        _w.Byte((byte)'{');
        for (int i = 0; i < values.Length; i++)
        {
            _w.EnsureRoom(24);
            if (i > 0) _w.Byte((byte)',');
            _w.Hex0x(values[i]);
        }
        _w.Byte((byte)'}');
    }

    /// <summary>A "&lt;stack trace&gt;" entry with the event's context, then one " => frame" line per frame.</summary>
    private void Stack(DmaEvent e, int stack, ReadOnlySpan<byte> title)
    {
        _w.EnsureRoom(FtraceLineWriter.MaxLineLength);
        Context(e);
        _w.Raw(title);
        _w.End();
        foreach (int f in _strings.Stacks[stack])
        {
            var name = _strings.Functions.Utf8(f);
            _w.EnsureRoom(name.Length + 8);
            _w.Raw(" => "u8);
            _w.Raw(name);
            _w.End();
        }
    }

    public void Dispose() => _w.Dispose();
}
