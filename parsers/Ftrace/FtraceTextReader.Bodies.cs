using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Text;

namespace DmaReplay.Parsers.Ftrace;

public sealed partial class FtraceTextReader
{
    /// <summary>
    /// Decodes the body of a known event. Each grammar follows the TP_printk format of the
    /// kernel's trace header (kernel-facts §9): dma.h in its 6.12, 6.13–6.17 and newest forms,
    /// swiotlb.h, iommu.h (old and "iova - end" forms) and dma_fence.h.
    /// </summary>
    private bool ParseBody(DmaEvent e, ReadOnlySpan<byte> body)
    {
        _failure = null;
        var c = new BodyCursor(body);
        bool ok = e.Kind switch
        {
            DmaEventKind.DmaMapPage or DmaEventKind.DmaMapResource or DmaEventKind.DmaMapPhys => Map(ref c, e),
            DmaEventKind.DmaUnmapPage or DmaEventKind.DmaUnmapResource or DmaEventKind.DmaUnmapPhys => Unmap(ref c, e),
            DmaEventKind.DmaAlloc or DmaEventKind.DmaAllocPages or DmaEventKind.DmaAllocSgtErr => Alloc(ref c, e),
            DmaEventKind.DmaAllocSgt => AllocSgt(ref c, e),
            DmaEventKind.DmaFree or DmaEventKind.DmaFreePages => Free(ref c, e),
            DmaEventKind.DmaFreeSgt => FreeSgt(ref c, e),
            DmaEventKind.DmaMapSg => body.StartsWith("[FAILED TO PARSE] "u8) ? MapSgRaw(body, e) : MapSg(ref c, e),
            DmaEventKind.DmaMapSgErr => MapSgErr(ref c, e),
            DmaEventKind.DmaUnmapSg => UnmapSg(ref c, e),
            DmaEventKind.DmaSyncSingleForCpu or DmaEventKind.DmaSyncSingleForDevice => SyncSingle(ref c, e),
            DmaEventKind.DmaSyncSgForCpu or DmaEventKind.DmaSyncSgForDevice => SyncSg(ref c, e),
            DmaEventKind.SwiotlbBounced => SwiotlbBounced(ref c, e),
            DmaEventKind.IommuMap => IommuMap(ref c, e),
            DmaEventKind.IommuUnmap => IommuUnmap(ref c, e),
            DmaEventKind.IommuIoPageFault => IoPageFault(ref c, e),
            DmaEventKind.IommuAddDeviceToGroup or DmaEventKind.IommuRemoveDeviceFromGroup => IommuGroup(ref c, e),
            DmaEventKind.IommuAttachDeviceToDomain or DmaEventKind.IommuDetachDeviceFromDomain => IommuDevice(ref c, e),
            DmaEventKind.DmaPoolCreate => PoolCreate(ref c, e),
            DmaEventKind.DmaPoolDestroy => PoolDestroy(ref c, e),
            DmaEventKind.DmaPoolAlloc => PoolAlloc(ref c, e),
            DmaEventKind.DmaPoolFree => PoolFree(ref c, e),
            DmaEventKind.DeviceUnbind => DeviceUnbind(ref c, e),
            _ => Fence(ref c, e),
        };
        _failure = c.Failure ?? (ok ? null : _failure);
        return ok && c.Ok;
    }

    private void DeviceAndDirection(ref BodyCursor c, DmaEvent e)
    {
        if (!Device(ref c, e)) return;
        e.Direction = c.Direction(out uint raw);
        e.RawDirection = raw;
    }

    /// <summary>The device name (a word), interned into <see cref="DmaEvent.Device"/>; names shorter than 16 bytes go through the cache.</summary>
    private bool Device(ref BodyCursor c, DmaEvent e)
    {
        if (c.TryShortDevice(out var key, out var name))
        {
            e.Device = _deviceCache.Intern(ShortNameCache.Hash(key), key, name);
            return true;
        }
        var dev = c.Device();
        if (!c.Ok) return false;
        e.Device = _strings.Devices.Intern(dev);
        return true;
    }

    // "%s dir=%s dma_addr=%llx size=%zu phys_addr=%llx attrs=%s"
    private bool Map(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.Size = c.Dec("size="u8, "'size='");
        e.PhysAddr = c.Hex("phys_addr="u8, "'phys_addr='");
        e.Attrs = c.Attrs();
        return c.End();
    }

    // "%s dir=%s dma_addr=%llx size=%zu attrs=%s"
    private bool Unmap(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.Size = c.Dec("size="u8, "'size='");
        e.Attrs = c.Attrs();
        return c.End();
    }

    // "%s dir=%s dma_addr=%llx size=%zu virt_addr=%p flags=%s attrs=%s"
    private bool Alloc(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.Size = c.Dec("size="u8, "'size='");
        e.VirtAddr = c.Hex("virt_addr="u8, "'virt_addr='");
        Gfp(ref c, e);
        Managed(ref c, e);
        e.Attrs = c.Attrs();
        return c.End();
    }

    /// <summary>dmareplay's "managed " before attrs= on dma_alloc/dma_free: a dmam_* allocation (synthetic traces).</summary>
    private static void Managed(ref BodyCursor c, DmaEvent e) => e.Managed = c.TryLit("managed "u8);

    // dma_alloc_sgt: "%s dir=%s dma_addr=%llx size=%zu phys_addrs=%s flags=%s attrs=%s"
    private bool AllocSgt(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.Size = c.Dec("size="u8, "'size='");
        e.Nents = c.Array("phys_addrs="u8, "'phys_addrs='", e, SgArray.Phys);
        Gfp(ref c, e);
        e.Attrs = c.Attrs();
        return c.End();
    }

    private void Gfp(ref BodyCursor c, DmaEvent e)
    {
        if (!c.Lit("flags="u8, "'flags='")) return;
        var text = c.Word();
        e.GfpText = _strings.Text.Intern(text);
        e.Gfp = GfpNames.Parse(text);
    }

    // "%s dir=%s dma_addr=%llx size=%zu virt_addr=%p attrs=%s"
    private bool Free(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.Size = c.Dec("size="u8, "'size='");
        e.VirtAddr = c.Hex("virt_addr="u8, "'virt_addr='");
        Managed(ref c, e);
        e.Attrs = c.Attrs();
        return c.End();
    }

    // dma_free_sgt: "%s dir=%s dma_addr=%llx size=%zu phys_addrs=%s"
    private bool FreeSgt(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.Size = c.Dec("size="u8, "'size='");
        e.Nents = c.Array("phys_addrs="u8, "'phys_addrs='", e, SgArray.Phys);
        return c.End();
    }

    // 6.12 original: "%s dir=%s dma_addrs=%s sizes=%s phys_addrs=%s attrs=%s"
    // 6.12.y/newest: "%s dir=%s nents=%d/%d ents=%d/%d%s dma_addrs=%s sizes=%s phys_addrs=%s attrs=%s"
    private bool MapSg(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        int recNents = -1, recEnts = -1;
        if (c.TryLit("nents="u8))
        {
            recNents = (int)CountPair(ref c, out ulong fullNents);
            e.Nents = (int)fullNents;
            c.Lit("ents="u8, "'ents='");
            recEnts = (int)CountPair(ref c, out ulong fullEnts);
            e.Ents = (int)fullEnts;
            e.Truncated = c.TryLit("[TRUNCATED] "u8);
        }
        int dmaCount = c.Array("dma_addrs="u8, "'dma_addrs='", e, SgArray.Dma);
        int sizeCount = c.Array("sizes="u8, "'sizes='", e, SgArray.Lengths);
        int physCount = c.Array("phys_addrs="u8, "'phys_addrs='", e, SgArray.Phys);
        e.Attrs = c.Attrs();
        if (!c.End()) return false;
        if (dmaCount != sizeCount) return c.Fail($"{dmaCount} dma_addrs but {sizeCount} sizes");
        if (recNents < 0)
        {
            e.Nents = physCount;
            e.Ents = dmaCount;
            return true;
        }
        if (recNents != physCount || recEnts != dmaCount)
            return c.Fail($"nents={recNents} ents={recEnts} but {physCount} phys_addrs and {dmaCount} dma_addrs");
        if (e.Nents < recNents || e.Ents < recEnts) return c.Fail("recorded count larger than total count");
        return true;
    }

    /// <summary>"a/b " → a (recorded), b (total).</summary>
    private static ulong CountPair(ref BodyCursor c, out ulong total)
    {
        total = 0;
        var w = c.Word();
        int slash = w.IndexOf((byte)'/');
        if (slash < 0 || !Utf8Number.TryParseDecimal(w[..slash], out ulong rec)
            || !Utf8Number.TryParseDecimal(w[(slash + 1)..], out total))
        {
            c.Fail("bad 'recorded/total' count");
            return 0;
        }
        return rec;
    }

    // dma_map_sg_err: "%s dir=%s dma_addrs=%s err=%d attrs=%s" — the array holds physical addresses.
    private bool MapSgErr(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.Nents = c.Array("dma_addrs="u8, "'dma_addrs='", e, SgArray.Phys);
        e.Error = c.Int("err="u8, "'err='");
        e.Attrs = c.Attrs();
        return c.End();
    }

    // "%s dir=%s phys_addrs=%s attrs=%s"
    private bool UnmapSg(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.Nents = c.Array("phys_addrs="u8, "'phys_addrs='", e, SgArray.Phys);
        e.Attrs = c.Attrs();
        return c.End();
    }

    // "%s dir=%s dma_addr=%llx size=%zu"
    private bool SyncSingle(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.Size = c.Dec("size="u8, "'size='");
        return c.End();
    }

    // "%s dir=%s dma_addrs=%s sizes=%s"
    private bool SyncSg(ref BodyCursor c, DmaEvent e)
    {
        DeviceAndDirection(ref c, e);
        int n = c.Array("dma_addrs="u8, "'dma_addrs='", e, SgArray.Dma);
        int sizes = c.Array("sizes="u8, "'sizes='", e, SgArray.Lengths);
        if (!c.End()) return false;
        if (n != sizes) return c.Fail($"{n} dma_addrs but {sizes} sizes");
        e.Nents = n;
        return true;
    }

    // "dev_name: %s dma_mask=%llx dev_addr=%llx size=%zu %s" with NORMAL | FORCE | NO_FORCE
    private bool SwiotlbBounced(ref BodyCursor c, DmaEvent e)
    {
        c.Lit("dev_name: "u8, "'dev_name: '");
        if (!c.Ok || !Device(ref c, e)) return false;
        e.DmaMask = c.Hex("dma_mask="u8, "'dma_mask='");
        e.DmaAddr = c.Hex("dev_addr="u8, "'dev_addr='");
        e.Size = c.Dec("size="u8, "'size='");
        if (!c.Ok) return false;
        var reason = c.Word();
        if (reason.SequenceEqual("FORCE"u8)) e.BounceReason = SwiotlbBounceReason.Force;
        else if (reason.SequenceEqual("NORMAL"u8)) e.BounceReason = SwiotlbBounceReason.Normal;
        else if (reason.SequenceEqual("NO_FORCE"u8)) e.BounceReason = SwiotlbBounceReason.NoForce;
        else return c.Fail("expected NORMAL, FORCE or NO_FORCE");
        return c.End();
    }

    // new: "IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%zu"; old: without " - 0x…"
    private static bool IommuMap(ref BodyCursor c, DmaEvent e)
    {
        ulong? end = IovaRange(ref c, e);
        e.PhysAddr = c.Hex("paddr="u8, "'paddr='");
        e.Size = c.Dec("size="u8, "'size='");
        return c.End() && CheckIovaEnd(ref c, e, end);
    }

    // new: "IOMMU: iova=0x%016llx - 0x%016llx size=%zu unmapped_size=%zu"; old: without " - 0x…"
    private static bool IommuUnmap(ref BodyCursor c, DmaEvent e)
    {
        ulong? end = IovaRange(ref c, e);
        e.Size = c.Dec("size="u8, "'size='");
        e.UnmappedSize = c.Dec("unmapped_size="u8, "'unmapped_size='");
        return c.End() && CheckIovaEnd(ref c, e, end);
    }

    /// <summary>"IOMMU: iova=0x… [- 0x…] ": sets the iova, returns the printed end when the newer form has one.</summary>
    private static ulong? IovaRange(ref BodyCursor c, DmaEvent e)
    {
        c.Lit("IOMMU: "u8, "'IOMMU: '");
        e.DmaAddr = c.Hex("iova="u8, "'iova='");
        return c.TryLit("- "u8) ? c.Hex(""u8, "the iova range end") : null;
    }

    private static bool CheckIovaEnd(ref BodyCursor c, DmaEvent e, ulong? end) =>
        end is null || end == e.DmaAddr + e.Size || c.Fail("iova range end is not iova + size");

    // "IOMMU:%s %s iova=0x%016llx flags=0x%04x" (driver, then device)
    private bool IoPageFault(ref BodyCursor c, DmaEvent e)
    {
        c.Lit("IOMMU:"u8, "'IOMMU:'");
        var driver = c.Word();
        if (!c.Ok || !Device(ref c, e)) return false;
        e.Driver = _strings.Text.Intern(driver);
        e.DmaAddr = c.Hex("iova="u8, "'iova='");
        e.FaultFlags = (int)c.Hex("flags="u8, "'flags='");
        return c.End();
    }

    // "IOMMU: groupID=%d device=%s"
    private bool IommuGroup(ref BodyCursor c, DmaEvent e)
    {
        c.Lit("IOMMU: "u8, "'IOMMU: '");
        e.GroupId = c.Int("groupID="u8, "'groupID='");
        if (!c.Lit("device="u8, "'device='") || !Device(ref c, e)) return false;
        return c.End();
    }

    // "IOMMU: device=%s"
    private bool IommuDevice(ref BodyCursor c, DmaEvent e)
    {
        if (!c.Lit("IOMMU: device="u8, "'IOMMU: device='") || !Device(ref c, e)) return false;
        return c.End();
    }

    // "driver=%s timeline=%s context=%u seqno=%u" — a timeline name may contain spaces.
    private bool Fence(ref BodyCursor c, DmaEvent e)
    {
        c.Lit("driver="u8, "'driver='");
        var driver = c.Until(" timeline="u8, "' timeline='");
        var timeline = c.Until(" context="u8, "' context='");
        if (!c.Ok) return false;
        e.Driver = _strings.Text.Intern(driver);
        e.Timeline = _strings.Text.Intern(timeline);
        var ctx = c.Word();
        if (!Utf8Number.TryParseDecimal(ctx, out ulong context) || context > uint.MaxValue) return c.Fail("bad context");
        e.Context = (uint)context;
        e.Seqno = c.Dec("seqno="u8, "'seqno='");
        return c.End();
    }

    // The dmareplay events (docs/synthetic-format.md). The pool name comes last because kernel
    // pool names may hold spaces ("xHCI ring segments").

    // "%s size=%zu align=%zu boundary=%zu pool=%s"
    private bool PoolCreate(ref BodyCursor c, DmaEvent e)
    {
        if (!Device(ref c, e)) return false;
        e.Size = c.Dec("size="u8, "'size='");
        e.Align = c.Dec("align="u8, "'align='");
        e.Boundary = c.Dec("boundary="u8, "'boundary='");
        return PoolName(ref c, e);
    }

    // "%s pool=%s"
    private bool PoolDestroy(ref BodyCursor c, DmaEvent e) => Device(ref c, e) && PoolName(ref c, e);

    // "%s dma_addr=%llx virt_addr=%p flags=%s pool=%s"
    private bool PoolAlloc(ref BodyCursor c, DmaEvent e)
    {
        if (!Device(ref c, e)) return false;
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.VirtAddr = c.Hex("virt_addr="u8, "'virt_addr='");
        Gfp(ref c, e);
        return PoolName(ref c, e);
    }

    // "%s dma_addr=%llx virt_addr=%p pool=%s"
    private bool PoolFree(ref BodyCursor c, DmaEvent e)
    {
        if (!Device(ref c, e)) return false;
        e.DmaAddr = c.Hex("dma_addr="u8, "'dma_addr='");
        e.VirtAddr = c.Hex("virt_addr="u8, "'virt_addr='");
        return PoolName(ref c, e);
    }

    /// <summary>"pool=" and the rest of the body, interned into <see cref="DmaEvent.Pool"/>.</summary>
    private bool PoolName(ref BodyCursor c, DmaEvent e)
    {
        if (!c.Lit("pool="u8, "'pool='")) return false;
        var name = c.Rest;
        if (name.IsEmpty) return c.Fail("empty pool name");
        e.Pool = _strings.Text.Intern(name);
        return true;
    }

    // "%s driver=%s"
    private bool DeviceUnbind(ref BodyCursor c, DmaEvent e)
    {
        if (!Device(ref c, e) || !c.Lit("driver="u8, "'driver='")) return false;
        var driver = c.Word();
        if (driver.IsEmpty) return c.Fail("empty driver name");
        e.Driver = _strings.Text.Intern(driver);
        return c.End();
    }
}
