using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using DmaReplay.Engine.Replay;

namespace DmaReplay.Engine.Platform;

/// <summary>
/// A capture bundle: a folder with the trace and the snapshot of the machine it was taken on
/// (meta.json, cmdline.txt, iomem.txt, devices.txt, dmesg.txt, iommu_groups.txt; any of them may
/// be stored .gz). Builds the platform the capture ran on, and records where each fact came from.
/// </summary>
public sealed partial record CaptureBundle(string Directory, string TracePath, PlatformModel Platform, CaptureFacts Facts)
{
    public static bool IsBundle(string dir) => Inputs.InputResolver.BundleTrace(dir) is not null;

    public static CaptureBundle Load(string dir, KernelDefaults? kernel = null)
    {
        var k = kernel ?? KernelDefaults.Linux612;
        string trace = Inputs.InputResolver.BundleTrace(dir) ?? throw new FileNotFoundException("no trace.txt in the bundle", Path.Combine(dir, "trace.txt"));
        var provenance = new List<string>();
        using var meta = ReadText(dir, "meta.json") is { } json ? JsonDocument.Parse(json) : null;
        string cmdline = ReadText(dir, "cmdline.txt")?.Trim() ?? "";
        string dmesg = ReadText(dir, "dmesg.txt") ?? "";

        int cpus = Cpus(meta, trace, provenance);
        var ram = Ram(ReadText(dir, "iomem.txt"), provenance);
        var devices = Devices(ReadText(dir, "devices.txt"), ReadText(dir, "iommu_groups.txt"), provenance);
        var swiotlb = Swiotlb(meta, cmdline, dmesg, cpus, ram, k, provenance);
        var iommu = Iommu(meta, ReadText(dir, "iomem.txt"), cmdline, dmesg, devices, provenance);

        var platform = new PlatformModel
        {
            Name = Path.GetFileName(Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar)),
            Cpus = cpus,
            Ram = ram,
            Swiotlb = swiotlb,
            Iommu = iommu,
            Devices = devices,
            Provenance = provenance,
            Kernel = k,
            Allocation = Allocation(cmdline, provenance),
        };
        return new CaptureBundle(dir, trace, platform, ReadFacts(meta));
    }

    /// <summary>A bundle file, plain or gzip'ed; null when absent.</summary>
    public static string? ReadText(string dir, string name)
    {
        var plain = Path.Combine(dir, name);
        if (File.Exists(plain)) return File.ReadAllText(plain);
        var gz = plain + ".gz";
        if (!File.Exists(gz)) return null;
        using var z = new GZipStream(File.OpenRead(gz), CompressionMode.Decompress);
        using var r = new StreamReader(z);
        return r.ReadToEnd();
    }

    /// <summary>coherent_pool= and cma= from the command line (early_coherent_pool, early_cma: memparse sizes).</summary>
    private static AllocationConfig Allocation(string cmdline, List<string> provenance)
    {
        var a = new AllocationConfig();
        if (KernelText.CmdlineValue(cmdline, "coherent_pool") is { } pool)
        {
            a = a with { AtomicPoolSize = PlatformSettings.Size(pool, "coherent_pool") };
            provenance.Add($"coherent_pool={pool} from cmdline.txt");
        }
        if (KernelText.CmdlineValue(cmdline, "cma") is { } cma && !cma.Contains('@') && !cma.Contains(':'))
        {
            a = a with { CmaBytes = PlatformSettings.Size(cma, "cma") };
            provenance.Add($"cma={cma} from cmdline.txt");
        }
        return a;
    }

    private static int Cpus(JsonDocument? meta, string trace, List<string> provenance)
    {
        if (meta is not null && meta.RootElement.TryGetProperty("platform", out var p) && p.TryGetProperty("smp", out var smp) && smp.ValueKind == JsonValueKind.Number)
        {
            provenance.Add($"cpus={smp.GetInt32()} from meta.json platform.smp");
            return smp.GetInt32();
        }
        // The trace header: "# entries-in-buffer/entries-written: A/B   #P:N"
        using var reader = new StreamReader(Parsers.Input.TraceInputStream.Open(trace, out _));
        for (int i = 0; i < 12 && reader.ReadLine() is { } line; i++)
        {
            var m = HeaderCpus().Match(line);
            if (!m.Success) continue;
            provenance.Add($"cpus={m.Groups[1].Value} from the trace header (#P)");
            return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        }
        provenance.Add("cpus=1: no platform.smp in meta.json and no #P in the trace header");
        return 1;
    }

    private static IReadOnlyList<MemoryRange> Ram(string? iomem, List<string> provenance)
    {
        var (ram, hidden) = KernelText.IomemRam(iomem, "iomem.txt", provenance);
        if (hidden) provenance.Add("RAM: unknown (iomem.txt shows zeros: it was read without root)");
        return ram;
    }

    private static IReadOnlyList<DeviceModel> Devices(string? devicesTxt, string? groupsTxt, List<string> provenance)
    {
        var groups = KernelText.IommuGroups(groupsTxt);
        var reserved = KernelText.IommuReserved(groupsTxt);
        var devices = new List<DeviceModel>();
        if (devicesTxt is null) return devices;
        foreach (var line in devicesTxt.Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 2 || f[0] != "pci") continue;
            var kv = f.Skip(2).Select(x => x.Split('=', 2)).Where(x => x.Length == 2).ToDictionary(x => x[0], x => x[1]);
            bool inGroup = groups.TryGetValue(f[1], out var g);
            var d = KernelText.PciDevice(f[1], kv.GetValueOrDefault("driver"), kv.GetValueOrDefault("dma_mask_bits"),
                kv.GetValueOrDefault("consistent_dma_mask_bits"), inGroup ? g : null, provenance);
            devices.Add(inGroup && reserved.TryGetValue(g.Group, out var rr) ? d with { IommuReserved = rr } : d);
        }
        provenance.Add($"devices: {devices.Count} PCI devices with their DMA masks from devices.txt" +
            (groups.Count > 0 ? $", IOMMU domains and reserved regions of {groups.Count} devices from iommu_groups.txt" : ""));
        return devices;
    }

    private static readonly KernelText.SourceNames Sources = new("cmdline.txt", "dmesg", "debugfs");


    /// <summary>
    /// The IOMMU facts dma-iommu reads: the host bridge's memory windows (the top-level "PCI Bus"
    /// lines of /proc/iomem; x86 bridges have no offset), the aperture (VT-d: 2^gaw − 1 from
    /// dmesg "DMAR: Host address width") and iommu.forcedac.
    /// </summary>
    private static IommuConfig Iommu(JsonDocument? meta, string? iomem, string cmdline, string dmesg, IReadOnlyList<DeviceModel> devices, List<string> provenance)
    {
        var cfg = new IommuConfig();
        if (!devices.Any(d => d.IommuDomain is IommuDomainType.Dma or IommuDomainType.DmaFq)) return cfg;
        var windows = new List<IommuRegion>();
        foreach (var line in (iomem ?? "").Split('\n'))
        {
            if (line.StartsWith(' ')) continue;
            var m = IomemLine().Match(line);
            if (m.Success && m.Groups[3].Value.Trim().StartsWith("PCI Bus ", StringComparison.Ordinal))
                windows.Add(new IommuRegion(KernelText.HexNumber(m.Groups[1].Value), KernelText.HexNumber(m.Groups[2].Value), "host-bridge-window"));
        }
        var haw = HostAddressWidth().Match(dmesg);
        ulong apertureEnd = haw.Success && int.Parse(haw.Groups[1].Value, CultureInfo.InvariantCulture) is var bits and > 0 and < 64
            ? (1UL << bits) - 1 : cfg.ApertureEnd;
        bool forceDac = cmdline.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .LastOrDefault(t => t.StartsWith("iommu.forcedac=", StringComparison.Ordinal)) is { } fd && fd[^1] is '1' or 'y' or 'Y';
        provenance.Add($"iommu: {windows.Count} host bridge windows from iomem.txt, aperture end 0x{apertureEnd:x}" +
            (haw.Success ? " from dmesg 'DMAR: Host address width'" : " (default)") + (forceDac ? ", iommu.forcedac from cmdline.txt" : ""));
        // Emulated guests (QEMU TCG) take their timer ticks late: the flush-queue timer of a lazy
        // domain was seen running up to ~16 ms after it was armed instead of 8–12 ms. 10 ms of
        // slack is the figure that reproduces dev-iommu-lazy best (see ReplayGoldenTests).
        bool tcg = meta is not null && meta.RootElement.TryGetProperty("platform", out var p)
            && p.TryGetProperty("accel", out var accel) && accel.ValueKind == JsonValueKind.String && accel.GetString() == "tcg";
        if (tcg) provenance.Add("iommu: flush-queue timer runs up to 10 ms late (meta.json platform.accel=tcg: emulated ticks)");
        return cfg with { HostBridgeWindows = windows, ApertureEnd = apertureEnd, ForceDac = forceDac, FlushTimerLateNs = tcg ? 10_000_000 : 0 };
    }

    private static SwiotlbConfig Swiotlb(JsonDocument? meta, string cmdline, string dmesg, int cpus,
        IReadOnlyList<MemoryRange> ram, KernelDefaults k, List<string> provenance)
    {
        var param = SwiotlbParam.Parse(cmdline);
        JsonElement pool = default;
        bool haveProbe = !param.NoForce && meta is not null && meta.RootElement.TryGetProperty("swiotlb", out var sw)
            && sw.TryGetProperty("pool", out pool) && pool.ValueKind == JsonValueKind.Object;
        if (haveProbe && pool.TryGetProperty("initialised", out var init) && init.ValueKind == JsonValueKind.False)
        {
            provenance.Add("swiotlb: none (meta.json swiotlb.pool: not initialised)");
            return new SwiotlbConfig();
        }
        if (haveProbe && pool.TryGetProperty("nslabs", out var nsl) && nsl.GetInt32() > 0)
        {
            ulong start = Convert.ToUInt64(pool.GetProperty("start").GetString()![2..], 16);
            int nareas = pool.GetProperty("nareas").GetInt32();
            provenance.Add($"swiotlb.start=0x{start:x}, nslabs={nsl.GetInt32()}, nareas={nareas} from meta.json swiotlb.pool (read from the running kernel)");
            if (param.Force) provenance.Add("swiotlb.force from cmdline.txt (swiotlb=...force)");
            return new SwiotlbConfig { Start = start, Nslabs = nsl.GetInt32(), Nareas = nareas, Force = param.Force };
        }
        // No probe: size from the command line (setup_io_tlb_npages) and areas from dmesg or the CPUs.
        return KernelText.Swiotlb(param, dmesg, cpus, ram, null, k, Sources, provenance);
    }

    private static CaptureFacts ReadFacts(JsonDocument? meta)
    {
        if (meta is null || !meta.RootElement.TryGetProperty("swiotlb", out var sw)) return new CaptureFacts();
        long? hiwater = null, used = null;
        List<(int, int)>? areas = null;
        if (sw.TryGetProperty("pool", out var pool) && pool.ValueKind == JsonValueKind.Object
            && pool.TryGetProperty("state_after_trace", out var st) && st.ValueKind == JsonValueKind.Object)
        {
            hiwater = st.GetProperty("used_hiwater").GetInt64();
            used = st.GetProperty("total_used").GetInt64();
            areas = st.GetProperty("areas").EnumerateArray().Select(a => (a.GetProperty("used").GetInt32(), a.GetProperty("index").GetInt32())).ToList();
        }
        else if (sw.TryGetProperty("debugfs_end_of_workload", out var dbg) && dbg.ValueKind == JsonValueKind.Object)
        {
            hiwater = dbg.GetProperty("io_tlb_used_hiwater").GetInt64();
            used = dbg.GetProperty("io_tlb_used").GetInt64();
        }
        return new CaptureFacts { UsedHiwater = hiwater, UsedAtEnd = used, Areas = areas };
    }

    [GeneratedRegex(@"#P:(\d+)")] private static partial Regex HeaderCpus();
    [GeneratedRegex(@"^([0-9a-f]+)-([0-9a-f]+) : (.*)$")] private static partial Regex IomemLine();
    [GeneratedRegex(@"DMAR: Host address width (\d+)")] private static partial Regex HostAddressWidth();
}

/// <summary>"swiotlb=&lt;nslabs&gt;[,&lt;nareas&gt;][,force|noforce]" (kernel/dma/swiotlb.c setup_io_tlb_npages).</summary>
public readonly record struct SwiotlbParam(int? Nslabs, int? Nareas, bool Force, bool NoForce)
{
    public static SwiotlbParam Parse(string cmdline)
    {
        var token = cmdline.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(t => t.StartsWith("swiotlb=", StringComparison.Ordinal));
        if (token is null) return default;
        var s = token["swiotlb=".Length..];
        int? nslabs = null, nareas = null;
        if (s.Length > 0 && char.IsAsciiDigit(s[0]))
        {
            nslabs = (int)AlignUp(ParseCNumber(ref s), 128); // ALIGN(simple_strtoul(str, &str, 0), IO_TLB_SEGSIZE)
        }
        if (s.StartsWith(',')) s = s[1..];
        if (s.Length > 0 && char.IsAsciiDigit(s[0]))
        {
            ulong n = ParseCNumber(ref s); // swiotlb_adjust_nareas: 0 → 1, else a power of two
            nareas = n == 0 ? 1 : (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)n);
        }
        if (s.StartsWith(',')) s = s[1..];
        return new SwiotlbParam(nslabs, nareas, s == "force", s == "noforce");
    }

    /// <summary>simple_strtoul(str, &amp;end, 0): 0x hex, leading-0 octal, else decimal.</summary>
    private static ulong ParseCNumber(ref string s)
    {
        int b = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? 16 : s.StartsWith('0') && s.Length > 1 ? 8 : 10;
        int i = b == 16 ? 2 : 0;
        ulong v = 0;
        for (; i < s.Length; i++)
        {
            int d = char.IsAsciiDigit(s[i]) ? s[i] - '0' : char.IsAsciiHexDigit(s[i]) ? (char.ToLowerInvariant(s[i]) - 'a' + 10) : 99;
            if (d >= b) break;
            v = v * (ulong)b + (ulong)d;
        }
        s = s[i..];
        return v;
    }

    private static ulong AlignUp(ulong v, ulong a) => (v + a - 1) / a * a;
}
