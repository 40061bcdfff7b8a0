namespace DmaReplay.Engine.Platform;

/// <summary>
/// DMA parameters a driver sets at probe that sysfs does not show: sysfs has the masks, not the
/// min_align_mask or segment limits. Overridable per device with --set.
/// </summary>
public static class DriverDefaults
{
    /// <summary>(min_align_mask, max_segment_size, source) by driver name.</summary>
    private static readonly Dictionary<string, (ulong MinAlign, ulong MaxSegment, string Source)> Table = new()
    {
        // drivers/nvme/host/pci.c nvme_pci_alloc_dev: dma_set_min_align_mask(NVME_CTRL_PAGE_SIZE - 1),
        // dma_set_max_seg_size(0xffffffff). SWIOTLB keeps the low 12 bits of a bounced PRP address.
        ["nvme"] = (0xfff, 0xffff_ffff, "drivers/nvme/host/pci.c nvme_pci_alloc_dev"),
    };

    public static DeviceModel Apply(DeviceModel d, List<string> provenance)
    {
        if (!Table.TryGetValue(d.Driver, out var t)) return d;
        provenance.Add($"device {d.Name}: min_align_mask=0x{t.MinAlign:x}, max_segment_size=0x{t.MaxSegment:x} from the {d.Driver} driver ({t.Source})");
        return d with { MinAlignMask = t.MinAlign, MaxSegmentSize = t.MaxSegment, SegmentLimitsKnown = true };
    }
}
