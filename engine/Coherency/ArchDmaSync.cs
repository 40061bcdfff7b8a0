using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Coherency;

/// <summary>The cache maintenance one arch hook performs.</summary>
public enum MaintenanceKind : byte
{
    None,
    /// <summary>dcache_clean_poc: dirty lines written back, the device sees the CPU's data.</summary>
    Clean,
    /// <summary>dcache_inval_poc: lines dropped (partial edge lines cleaned first), the CPU sees the device's data.</summary>
    Invalidate,
    /// <summary>dcache_clean_inval_poc.</summary>
    CleanInvalidate,
}

/// <summary>
/// arm64's hooks for non-coherent devices (arch/arm64/mm/dma-mapping.c, 6.12):
/// arch_sync_dma_for_device cleans to PoC whatever the direction; arch_sync_dma_for_cpu
/// invalidates unless the direction is DMA_TO_DEVICE; arch_dma_prep_coherent cleans the pages of a
/// coherent allocation before they are remapped uncached (dcache_clean_poc since 7bd6680b47fa,
/// v6.5; clean+invalidate before).
/// </summary>
public static class ArchDmaSync
{
    public static MaintenanceKind ForDevice(DmaDirection dir) => MaintenanceKind.Clean;

    public static MaintenanceKind ForCpu(DmaDirection dir) => dir == DmaDirection.ToDevice ? MaintenanceKind.None : MaintenanceKind.Invalidate;

    public static MaintenanceKind PrepCoherent => MaintenanceKind.Clean;

    /// <summary>The lines one range operation of that kind touches (cache.S).</summary>
    public static DcacheLines Lines(MaintenanceKind kind, ulong phys, ulong size, ulong line) => kind switch
    {
        MaintenanceKind.Clean => Arm64Dcache.CleanPoc(phys, size, line),
        MaintenanceKind.Invalidate => Arm64Dcache.InvalPoc(phys, size, line),
        MaintenanceKind.CleanInvalidate => Arm64Dcache.CleanInvalPoc(phys, size, line),
        _ => default,
    };
}
