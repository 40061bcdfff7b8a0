using DmaReplay.Engine.Platform;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Direct;

/// <summary>How dma-direct maps one buffer (kernel/dma/direct.h dma_direct_map_page).</summary>
public enum DirectDecision : byte
{
    /// <summary>The device reaches the buffer: dma = phys_to_dma(phys).</summary>
    Direct,
    /// <summary>swiotlb=force, an address beyond the mask, or an unaligned kmalloc buffer on a non-coherent device.</summary>
    Bounce,
    /// <summary>The device cannot reach the buffer and there is no SWIOTLB: DMA_MAPPING_ERROR.</summary>
    Fail,
}

/// <summary>dma-direct's address translation and its bounce decision (include/linux/dma-direct.h, kernel/dma/direct.h).</summary>
public static partial class DmaDirect
{
    /// <summary>phys_to_dma: the dma-range region holding the address, else identity; the encryption bit ORed in.</summary>
    public static ulong PhysToDma(DeviceModel dev, PlatformModel platform, ulong phys) =>
        PhysToDmaUnencrypted(dev, phys) is var dma && dma == DmaAddress.MappingError ? dma : dma | platform.MemoryEncryptionMask;

    /// <summary>phys_to_dma_unencrypted: used for SWIOTLB buffers, which are shared (decrypted) memory.</summary>
    public static ulong PhysToDmaUnencrypted(DeviceModel dev, ulong phys)
    {
        var ranges = dev.DmaRangeSpan;
        if (ranges.IsEmpty) return phys;
        foreach (var r in ranges)
        {
            if (phys >= r.CpuStart && phys - r.CpuStart < r.Size) return r.DmaStart + (phys - r.CpuStart);
        }
        return DmaAddress.MappingError;
    }

    /// <summary>dma_to_phys: the inverse of <see cref="PhysToDma"/> (the encryption bit dropped); all ones when no region holds it.</summary>
    public static ulong DmaToPhys(DeviceModel dev, PlatformModel platform, ulong dma)
    {
        dma &= ~platform.MemoryEncryptionMask;
        var ranges = dev.DmaRangeSpan;
        if (ranges.IsEmpty) return dma;
        foreach (var r in ranges)
        {
            if (dma >= r.DmaStart && dma - r.DmaStart < r.Size) return r.CpuStart + (dma - r.DmaStart);
        }
        return ulong.MaxValue;
    }

    /// <summary>dma_capable: the last byte within min_not_zero(dma_mask, bus_dma_limit).</summary>
    public static bool Capable(DeviceModel dev, ulong dma, ulong size)
    {
        if (dma == DmaAddress.MappingError) return false;
        ulong limit = dev.BusDmaLimit == 0 ? dev.DmaMask : Math.Min(dev.DmaMask, dev.BusDmaLimit);
        ulong last = size == 0 ? dma : dma + size - 1;
        return last >= dma && last <= limit;
    }

    /// <summary>The dma_direct_map_page decision for one buffer.</summary>
    public static DirectDecision Decide(DeviceModel dev, PlatformModel platform, ulong phys, ulong size, DmaDirection dir)
    {
        bool swiotlb = platform.Swiotlb.Active;
        if (swiotlb && platform.Swiotlb.Force) return DirectDecision.Bounce;
        ulong dma = PhysToDma(dev, platform, phys);
        if (!Capable(dev, dma, size) || KmallocNeedsBounce(dev, platform, size, dir))
            return swiotlb ? DirectDecision.Bounce : DirectDecision.Fail;
        return DirectDecision.Direct;
    }
}
