namespace DmaReplay.Engine.Iommu.Hardware;

/// <summary>
/// When the modelled device touches the pages of a live mapping (each touch: an IOTLB lookup per
/// 4 KiB page, a page walk on a miss). A trace shows the DMA API calls, not the device's own
/// reads and writes, so these are assumptions to choose from (iommu.access).
/// </summary>
public enum DeviceAccess : byte
{
    /// <summary>Once per page, when it is mapped (the default).</summary>
    Map,
    /// <summary>At map, and again just before the driver unmaps it (the completion the driver waited for).</summary>
    MapUnmap,
    /// <summary>At map, at each dma_sync_* of the range (the device's transfer the sync brackets), and before the unmap.</summary>
    MapSyncUnmap,
}

public static class DeviceAccessNames
{
    public static string Name(this DeviceAccess a) => a switch
    {
        DeviceAccess.MapUnmap => "map+unmap",
        DeviceAccess.MapSyncUnmap => "map+sync+unmap",
        _ => "map",
    };

    public static DeviceAccess Parse(string text) => text switch
    {
        "map" => DeviceAccess.Map,
        "map+unmap" => DeviceAccess.MapUnmap,
        "map+sync+unmap" => DeviceAccess.MapSyncUnmap,
        _ => throw new FormatException($"iommu.access: map, map+unmap or map+sync+unmap, not '{text}'"),
    };
}
