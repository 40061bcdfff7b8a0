namespace DmaReplay.Parsers.Model;

/// <summary>DMA_ATTR_* bits (include/linux/dma-mapping.h); names as dma.h's __print_flags prints them.</summary>
[Flags]
public enum DmaAttrs : ulong
{
    None = 0,
    WeakOrdering = 1UL << 1,
    WriteCombine = 1UL << 2,
    NoKernelMapping = 1UL << 4,
    SkipCpuSync = 1UL << 5,
    ForceContiguous = 1UL << 6,
    AllocSinglePages = 1UL << 7,
    NoWarn = 1UL << 8,
    Privileged = 1UL << 9,
    Mmio = 1UL << 10,
    /// <summary>DMA_ATTR_DEBUGGING_IGNORE_CACHELINES, printed as "CACHELINES_OVERLAP" (newest kernels).</summary>
    CachelinesOverlap = 1UL << 11,
    /// <summary>A name this table does not know (a newer kernel's attribute) was printed.</summary>
    Unrecognized = 1UL << 63,
}

public static class DmaAttrNames
{
    /// <summary>Printed name ↔ bit, in the kernel's table order.</summary>
    public static readonly (string Name, DmaAttrs Bit)[] Table =
    [
        ("WEAK_ORDERING", DmaAttrs.WeakOrdering),
        ("WRITE_COMBINE", DmaAttrs.WriteCombine),
        ("NO_KERNEL_MAPPING", DmaAttrs.NoKernelMapping),
        ("SKIP_CPU_SYNC", DmaAttrs.SkipCpuSync),
        ("FORCE_CONTIGUOUS", DmaAttrs.ForceContiguous),
        ("ALLOC_SINGLE_PAGES", DmaAttrs.AllocSinglePages),
        ("NO_WARN", DmaAttrs.NoWarn),
        ("PRIVILEGED", DmaAttrs.Privileged),
        ("MMIO", DmaAttrs.Mmio),
        ("CACHELINES_OVERLAP", DmaAttrs.CachelinesOverlap),
    ];

    /// <summary>Formats like __print_flags: names joined by "|", leftover bits as 0x…, empty for 0.</summary>
    public static string Format(DmaAttrs attrs)
    {
        if (attrs == DmaAttrs.None) return "";
        var parts = new List<string>();
        ulong rest = (ulong)attrs;
        foreach (var (name, bit) in Table)
        {
            if ((rest & (ulong)bit) != 0) { parts.Add(name); rest &= ~(ulong)bit; }
        }
        if (rest != 0) parts.Add("0x" + rest.ToString("x"));
        return string.Join('|', parts);
    }
}
