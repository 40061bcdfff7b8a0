using System.Globalization;

namespace DmaReplay.Engine.Platform;

/// <summary>A few lines about a platform for the console: CPUs, RAM, the SWIOTLB pool, the devices.</summary>
public static class PlatformSummary
{
    public static IEnumerable<string> Lines(PlatformModel p)
    {
        var ci = CultureInfo.InvariantCulture;
        ulong ramBytes = p.Ram.Aggregate(0UL, (sum, r) => sum + r.Size);
        yield return string.Create(ci, $"platform {p.Name}: {p.Cpus} CPUs, ") + (p.Ram.Count == 0
            ? "RAM unknown"
            : string.Create(ci, $"RAM {ramBytes >> 20:N0} MiB in {p.Ram.Count} ranges up to 0x{p.RamEnd:x}"));
        var s = p.Swiotlb;
        yield return !s.Active
            ? "SWIOTLB: none"
            : string.Create(ci, $"SWIOTLB: {s.SizeBytes(p.Kernel) >> 10:N0} KiB ({s.Nslabs} slots, {s.Nareas} areas) at ")
              + (s.Start is { } start ? $"0x{start:x}" : "an unknown address")
              + (s.Force ? ", force" : "") + (s.Dynamic ? ", dynamic" : "");
        yield return string.Create(ci, $"devices: {p.Devices.Count}");
        foreach (var d in p.Devices)
        {
            string iommu = d.IommuDomain == IommuDomainType.None ? "" : $", iommu {PlatformSettings.IommuName(d.IommuDomain)} group {d.IommuGroup}";
            string align = d.MinAlignMask == 0 ? "" : $", min_align_mask 0x{d.MinAlignMask:x}";
            yield return string.Create(ci, $"  {d.Name} {d.Driver}: dma_mask {d.DmaMaskBits} bits, coherent {d.CoherentMaskBits} bits{align}{iommu}");
        }
    }
}
