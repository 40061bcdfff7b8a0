using System.Globalization;
using System.Text.RegularExpressions;

namespace DmaReplay.Engine.Platform;

/// <summary>
/// Readers of the kernel's own texts (/proc/iomem, the command line, the kernel log, sysfs values,
/// IOMMU group types) and the device and SWIOTLB rules built on them: shared by capture bundles
/// (<see cref="CaptureBundle"/>) and live snapshots (<see cref="PlatformSnapshot"/>).
/// </summary>
internal static partial class KernelText
{
    /// <summary>
    /// Top-level "System RAM" lines of /proc/iomem ("00100000-7ffd3fff : System RAM", end inclusive).
    /// Hidden: the kernel showed every range as zeros (read without CAP_SYS_ADMIN), so RAM is unknown.
    /// </summary>
    public static (List<MemoryRange> Ram, bool Hidden) IomemRam(string? iomem, string source, List<string> provenance)
    {
        var (ram, hidden) = IomemRam(iomem);
        if (ram.Count > 0) provenance.Add($"RAM: {ram.Count} System RAM ranges up to 0x{ram.Max(r => r.End):x} from {source}");
        return (ram, hidden);
    }

    private static (List<MemoryRange> Ram, bool Hidden) IomemRam(string? iomem)
    {
        var ram = new List<MemoryRange>();
        bool any = false, allZero = true;
        foreach (var line in (iomem ?? "").Split('\n'))
        {
            if (line.StartsWith(' ')) continue;
            var m = IomemLine().Match(line);
            if (!m.Success) continue;
            ulong start = Hex(m.Groups[1].Value), last = Hex(m.Groups[2].Value);
            any = true;
            allZero &= start == 0 && last == 0;
            if (m.Groups[3].Value.Trim() == "System RAM") ram.Add(new MemoryRange(start, last + 1));
        }
        return any && allZero ? ([], true) : (ram, false);
    }

    /// <summary>An IOMMU group's type file (DMA, DMA-FQ, identity, ...) as a domain type.</summary>
    public static IommuDomainType IommuDomain(string type) => type.Trim() switch
    {
        "DMA" => IommuDomainType.Dma,
        "DMA-FQ" => IommuDomainType.DmaFq,
        "identity" => IommuDomainType.Identity,
        _ => IommuDomainType.None,
    };

    /// <summary>iommu_groups.txt of a bundle: "group N type=T devices=BDF BDF ..." → device → (group, domain).</summary>
    public static Dictionary<string, (int Group, IommuDomainType Type)> IommuGroups(string? groupsTxt)
    {
        var groups = new Dictionary<string, (int Group, IommuDomainType Type)>();
        foreach (var line in (groupsTxt ?? "").Split('\n'))
        {
            var m = GroupLine().Match(line);
            if (!m.Success) continue;
            var type = IommuDomain(m.Groups[2].Value);
            foreach (var dev in m.Groups[3].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                groups[dev] = (int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), type);
        }
        return groups;
    }

    /// <summary>The reserved regions of each group (the "  reserved &lt;start&gt; &lt;end&gt; &lt;type&gt;" lines after a group line), by group.</summary>
    public static Dictionary<int, List<IommuRegion>> IommuReserved(string? groupsTxt)
    {
        var reserved = new Dictionary<int, List<IommuRegion>>();
        List<IommuRegion>? current = null;
        foreach (var line in (groupsTxt ?? "").Split('\n'))
        {
            var r = ReservedLine().Match(line);
            if (r.Success && current is not null)
            {
                current.Add(new IommuRegion(HexNumber(r.Groups[1].Value), HexNumber(r.Groups[2].Value), r.Groups[3].Value));
                continue;
            }
            var m = GroupLine().Match(line);
            if (m.Success) reserved[int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)] = current = [];
        }
        return reserved;
    }

    /// <summary>A hex number with or without "0x".</summary>
    public static ulong HexNumber(string s) =>
        ulong.Parse(s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>A PCI device from its sysfs facts (masks default to 32 bits, as the kernel's), with its driver's defaults.</summary>
    public static DeviceModel PciDevice(string bdf, string? driver, string? dmaMaskBits, string? coherentMaskBits,
        (int Group, IommuDomainType Type)? iommu, List<string> provenance)
    {
        var d = new DeviceModel
        {
            Name = bdf,
            Bus = "pci",
            Driver = string.IsNullOrEmpty(driver) ? "none" : driver,
            DmaMaskBits = int.TryParse(dmaMaskBits, CultureInfo.InvariantCulture, out int b) ? b : 32,
            CoherentMaskBits = int.TryParse(coherentMaskBits, CultureInfo.InvariantCulture, out int c) ? c : 32,
            IommuDomain = iommu?.Type ?? IommuDomainType.None,
            IommuGroup = iommu?.Group,
        };
        return DriverDefaults.Apply(d, provenance);
    }

    /// <summary>A CPU list as in /sys/devices/system/cpu/possible ("0-7", "0-3,6,8-9"): how many CPUs; null when unreadable.</summary>
    public static int? CpuCount(string? list)
    {
        if (string.IsNullOrWhiteSpace(list)) return null;
        int n = 0;
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-');
            if (!int.TryParse(ends[0], CultureInfo.InvariantCulture, out int lo)) return null;
            int hi = lo;
            if (ends.Length == 2 && !int.TryParse(ends[1], CultureInfo.InvariantCulture, out hi)) return null;
            if (ends.Length > 2 || hi < lo) return null;
            n += hi - lo + 1;
        }
        return n > 0 ? n : null;
    }

    /// <summary>The value of the last "name=value" token of a command line, or null.</summary>
    public static string? CmdlineValue(string cmdline, string name) =>
        cmdline.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(t => t.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];

    /// <summary>
    /// The SWIOTLB pool the kernel set up, without reading its descriptor: none with swiotlb=noforce;
    /// the size from debugfs io_tlb_nslabs when known, else from the command line (setup_io_tlb_npages)
    /// or the 64 MiB default when x86 sets a pool up at all; the areas from the command line, the
    /// kernel log's 'area num' or the CPU count; the start from the log's 'mapped [mem ...]' line.
    /// </summary>
    public static SwiotlbConfig Swiotlb(SwiotlbParam param, string log, int cpus, IReadOnlyList<MemoryRange> ram,
        int? debugfsNslabs, KernelDefaults k, SourceNames src, List<string> provenance)
    {
        if (param.NoForce)
        {
            provenance.Add($"swiotlb: off (swiotlb=noforce in {src.Cmdline})");
            return new SwiotlbConfig();
        }
        if (debugfsNslabs == 0)
        {
            provenance.Add($"swiotlb: none ({src.Debugfs} io_tlb_nslabs=0)");
            return new SwiotlbConfig();
        }
        bool highRam = ram.Count > 0 && ram.Max(r => r.End) > 0x1_0000_0000UL;
        if (debugfsNslabs is null && !param.Force && !highRam && !log.Contains("software IO TLB: mapped", StringComparison.Ordinal))
        {
            provenance.Add(ram.Count > 0
                ? "swiotlb: none (x86 sets no pool up: no swiotlb=force and no RAM above 4 GiB)"
                : "swiotlb: none assumed (no swiotlb=force and no pool in the kernel log; RAM unknown, so a pool for RAM above 4 GiB cannot be ruled out)");
            return new SwiotlbConfig();
        }
        var areaMatch = AreaNum().Match(log);
        int areas = param.Nareas ?? (areaMatch.Success ? int.Parse(areaMatch.Groups[1].Value, CultureInfo.InvariantCulture)
            : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, cpus)));
        string areasFrom = param.Nareas is not null ? src.Cmdline : areaMatch.Success ? $"{src.Log} 'area num'" : "the CPU count";
        int nslabs;
        if (debugfsNslabs is { } known)
        {
            nslabs = known;
            // limit_nareas(): an area holds at least one segment (kept a power of two, as areas are).
            if (nslabs < k.IoTlbSegSize * areas) areas = 1 << System.Numerics.BitOperations.Log2((uint)Math.Max(1, nslabs / k.IoTlbSegSize));
            provenance.Add($"swiotlb.nslabs={nslabs} from {src.Debugfs} io_tlb_nslabs, nareas={areas} from {areasFrom}");
        }
        else
        {
            nslabs = param.Nslabs ?? k.IoTlbDefaultSlabs;
            if (nslabs < k.IoTlbSegSize * areas) nslabs = k.IoTlbSegSize * areas;
            nslabs = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)nslabs);
            provenance.Add($"swiotlb.nslabs={nslabs} from " + (param.Nslabs is null ? "the default size (64 MiB)" : $"{src.Cmdline} swiotlb=") +
                $", nareas={areas} from {areasFrom}");
        }
        if (param.Force) provenance.Add($"swiotlb.force from {src.Cmdline} (swiotlb=...force)");
        ulong? start = null;
        var mapped = MappedLine().Match(log);
        if (mapped.Success)
        {
            start = Hex(mapped.Groups[1].Value);
            provenance.Add($"swiotlb.start=0x{start:x} from {src.Log} 'software IO TLB: mapped [mem ...]'");
        }
        return new SwiotlbConfig { Start = start, Nslabs = nslabs, Nareas = areas, Force = param.Force };
    }

    /// <summary>How the sources of <see cref="Swiotlb"/> are named in the provenance.</summary>
    public sealed record SourceNames(string Cmdline, string Log, string Debugfs);

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^([0-9a-f]+)-([0-9a-f]+) : (.*)$")] private static partial Regex IomemLine();
    [GeneratedRegex(@"^group (\d+) type=(\S+) devices=(.*)$")] private static partial Regex GroupLine();
    [GeneratedRegex(@"^\s+reserved (0x[0-9a-fA-F]+) (0x[0-9a-fA-F]+) (\S+)")] private static partial Regex ReservedLine();
    [GeneratedRegex(@"software IO TLB: area num (\d+)\.")] private static partial Regex AreaNum();
    [GeneratedRegex(@"software IO TLB: mapped \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]")] private static partial Regex MappedLine();
}
