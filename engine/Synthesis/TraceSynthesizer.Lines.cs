using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Synthesis;

/// <summary>One method per event line. Each returns false, writing nothing, once the event budget is spent.</summary>
public sealed partial class TraceSynthesizer
{
    /// <summary>Room for <paramref name="lines"/> more event lines before the reserved ones.</summary>
    private bool HasRoom(int lines = 1) => _remaining - _reserve >= lines;

    /// <summary>Starts an event line at the next timestamp (strictly after the previous line).</summary>
    private bool Begin(SynthTask task, int cpu, ReadOnlySpan<byte> flags, ReadOnlySpan<byte> name)
    {
        if (!HasRoom()) return false;
        _remaining--;
        _phaseLines++;
        _lastUs = Math.Max(_nowUs, _lastUs + 1);
        _nowUs = _lastUs;
        _w.Begin(task.Prefix, cpu, flags, _lastUs, name);
        return true;
    }

    private bool Begin(SynthTask task, int cpu, ReadOnlySpan<byte> flags, DmaEventKind kind, ReadOnlySpan<byte> device)
    {
        if (!Begin(task, cpu, flags, EventName(kind))) return false;
        _report.CountEvent(kind);
        _w.Raw(device);
        return true;
    }

    private static ReadOnlySpan<byte> EventName(DmaEventKind kind) => kind switch
    {
        DmaEventKind.DmaMapPage => "dma_map_page"u8,
        DmaEventKind.DmaUnmapPage => "dma_unmap_page"u8,
        DmaEventKind.DmaMapSg => "dma_map_sg"u8,
        DmaEventKind.DmaUnmapSg => "dma_unmap_sg"u8,
        DmaEventKind.DmaAlloc => "dma_alloc"u8,
        DmaEventKind.DmaFree => "dma_free"u8,
        DmaEventKind.SwiotlbBounced => "swiotlb_bounced"u8,
        DmaEventKind.DmaSyncSingleForCpu => "dma_sync_single_for_cpu"u8,
        DmaEventKind.DmaSyncSingleForDevice => "dma_sync_single_for_device"u8,
        DmaEventKind.DmaFenceInit => "dma_fence_init"u8,
        DmaEventKind.DmaFenceEmit => "dma_fence_emit"u8,
        DmaEventKind.DmaFenceEnableSignal => "dma_fence_enable_signal"u8,
        DmaEventKind.DmaFenceSignaled => "dma_fence_signaled"u8,
        DmaEventKind.DmaFenceWaitStart => "dma_fence_wait_start"u8,
        DmaEventKind.DmaFenceWaitEnd => "dma_fence_wait_end"u8,
        DmaEventKind.DmaFenceDestroy => "dma_fence_destroy"u8,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a synthesized event"),
    };

    private static ReadOnlySpan<byte> DirName(DmaDirection dir) => dir switch
    {
        DmaDirection.Bidirectional => "BIDIRECTIONAL"u8,
        DmaDirection.ToDevice => "TO_DEVICE"u8,
        DmaDirection.FromDevice => "FROM_DEVICE"u8,
        _ => "NONE"u8,
    };

    private void Dir(DmaDirection dir)
    {
        _w.Raw(" dir="u8);
        _w.Raw(DirName(dir));
    }

    /// <summary>" dma_addr=%llx size=%zu": the fields every single-buffer event prints after dir.</summary>
    private void DmaAddrSize(ulong dma, ulong size)
    {
        _w.Raw(" dma_addr="u8);
        _w.Hex(dma);
        _w.Raw(" size="u8);
        _w.Dec(size);
    }

    /// <summary>"tracing_mark_write: text" from init, as the capture scripts write their phases.</summary>
    private void Marker(string text)
    {
        if (!Begin(_tasks.Init, Cpu(), Flags.Process, "tracing_mark_write"u8)) return;
        _report.CountMarker();
        Span<byte> bytes = stackalloc byte[text.Length];
        for (int i = 0; i < text.Length; i++) bytes[i] = (byte)text[i];
        _w.Raw(bytes);
        _w.End();
    }

    // "%s dir=%s dma_addr=%llx size=%zu phys_addr=%llx attrs=%s"
    private bool MapPage(SynthTask task, int cpu, ReadOnlySpan<byte> flags, ReadOnlySpan<byte> dev, DmaDirection dir, ulong dma, ulong size, ulong phys)
    {
        if (!Begin(task, cpu, flags, DmaEventKind.DmaMapPage, dev)) return false;
        Dir(dir);
        DmaAddrSize(dma, size);
        _w.Raw(" phys_addr="u8);
        _w.Hex(phys);
        _w.Raw(" attrs="u8);
        _w.End();
        if (dma != DmaAddress.MappingError) LedgerMap(dev, dma);
        return true;
    }

    // "%s dir=%s dma_addr=%llx size=%zu attrs=%s"
    private bool UnmapPage(SynthTask task, int cpu, ReadOnlySpan<byte> flags, ReadOnlySpan<byte> dev, DmaDirection dir, ulong dma, ulong size)
    {
        if (!Begin(task, cpu, flags, DmaEventKind.DmaUnmapPage, dev)) return false;
        Dir(dir);
        DmaAddrSize(dma, size);
        _w.Raw(" attrs="u8);
        _w.End();
        LedgerRelease(dev, dma);
        return true;
    }

    // 6.12.117: "%s dir=%s nents=%d/%d ents=%d/%d%s dma_addrs=%s sizes=%s phys_addrs=%s attrs=%s";
    // dma-direct never merges, so ents == nents and dma_addrs == phys_addrs. At most 32 entries: never truncated.
    private bool MapSg(SynthTask task, int cpu, ReadOnlySpan<byte> flags, ReadOnlySpan<byte> dev, DmaDirection dir, int sg)
    {
        if (!Begin(task, cpu, flags, DmaEventKind.DmaMapSg, dev)) return false;
        var phys = _sg.Phys(sg);
        Dir(dir);
        _w.Raw(" nents="u8);
        _w.Dec((ulong)phys.Length);
        _w.Byte((byte)'/');
        _w.Dec((ulong)phys.Length);
        _w.Raw(" ents="u8);
        _w.Dec((ulong)phys.Length);
        _w.Byte((byte)'/');
        _w.Dec((ulong)phys.Length);
        PrintArray(" dma_addrs="u8, phys);
        PrintArray(" sizes="u8, _sg.Lengths(sg));
        PrintArray(" phys_addrs="u8, phys);
        _w.Raw(" attrs=NO_WARN"u8); // nvme_map_data() passes DMA_ATTR_NO_WARN
        _w.End();
        LedgerMap(dev, phys[0]);
        return true;
    }

    // "%s dir=%s phys_addrs=%s attrs=%s" (nvme unmaps with no attrs)
    private bool UnmapSg(SynthTask task, int cpu, ReadOnlySpan<byte> flags, ReadOnlySpan<byte> dev, DmaDirection dir, int sg)
    {
        if (!Begin(task, cpu, flags, DmaEventKind.DmaUnmapSg, dev)) return false;
        Dir(dir);
        PrintArray(" phys_addrs="u8, _sg.Phys(sg));
        _w.Raw(" attrs="u8);
        _w.End();
        LedgerRelease(dev, _sg.Phys(sg)[0]);
        return true;
    }

    /// <summary>__print_array: "{0x1,0x2}".</summary>
    private void PrintArray(ReadOnlySpan<byte> key, ReadOnlySpan<ulong> values)
    {
        _w.Raw(key);
        _w.Byte((byte)'{');
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0) _w.Byte((byte)',');
            _w.Hex0x(values[i]);
        }
        _w.Byte((byte)'}');
    }

    // "%s dir=%s dma_addr=%llx size=%zu virt_addr=%p flags=%s attrs=%s"; 6.12 does not store dir
    // for allocations, the real bundles print BIDIRECTIONAL (a zeroed ring-buffer field).
    private bool Alloc(SynthTask task, int cpu, ReadOnlySpan<byte> dev, ulong dma, ulong size, ulong virt)
    {
        if (!Begin(task, cpu, Flags.Process, DmaEventKind.DmaAlloc, dev)) return false;
        Dir(DmaDirection.Bidirectional);
        DmaAddrSize(dma, size);
        _w.Raw(" virt_addr="u8);
        _w.Hex16(virt);
        _w.Raw(" flags=GFP_KERNEL attrs="u8);
        _w.End();
        LedgerMap(dev, dma);
        return true;
    }

    // "%s dir=%s dma_addr=%llx size=%zu virt_addr=%p attrs=%s"
    private bool Free(SynthTask task, int cpu, ReadOnlySpan<byte> dev, ulong dma, ulong size, ulong virt)
    {
        if (!Begin(task, cpu, Flags.Process, DmaEventKind.DmaFree, dev)) return false;
        Dir(DmaDirection.Bidirectional);
        DmaAddrSize(dma, size);
        _w.Raw(" virt_addr="u8);
        _w.Hex16(virt);
        _w.Raw(" attrs="u8);
        _w.End();
        LedgerRelease(dev, dma);
        return true;
    }

    // "dev_name: %s dma_mask=%llx dev_addr=%llx size=%zu %s" — emitted at the start of swiotlb_map(), before the slot search.
    private bool Bounced(SynthTask task, int cpu, ReadOnlySpan<byte> flags, ReadOnlySpan<byte> dev, ulong dmaMask, ulong origPhys, ulong size)
    {
        if (!Begin(task, cpu, flags, "swiotlb_bounced"u8)) return false;
        _report.CountEvent(DmaEventKind.SwiotlbBounced);
        _w.Raw("dev_name: "u8);
        _w.Raw(dev);
        _w.Raw(" dma_mask="u8);
        _w.Hex(dmaMask);
        _w.Raw(" dev_addr="u8);
        _w.Hex(origPhys);
        _w.Raw(" size="u8);
        _w.Dec(size);
        _w.Raw(" NORMAL"u8);
        _w.End();
        return true;
    }
}
