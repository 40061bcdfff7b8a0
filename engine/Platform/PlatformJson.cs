using System.Globalization;
using System.Text.Json;

namespace DmaReplay.Engine.Platform;

/// <summary>
/// The platform file (README "Platform file"): a JSON object with the machine facts, the SWIOTLB
/// pool and the devices. Addresses and masks are "0x…" strings (JSON numbers lose 64-bit
/// precision in many readers); absent keys take the defaults of <see cref="PlatformModel"/>.
/// </summary>
public static class PlatformJson
{
    public static void Write(PlatformModel p, Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("name", p.Name);
        w.WriteNumber("cpus", p.Cpus);
        w.WriteStartArray("ram");
        foreach (var r in p.Ram)
        {
            w.WriteStartObject();
            w.WriteString("start", Hex(r.Start));
            w.WriteString("end", Hex(r.End));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteBoolean("coherentByDefault", p.CoherentByDefault);
        w.WriteNumber("dmaCacheAlignment", p.DmaCacheAlignment);
        w.WriteNumber("cacheLineBytes", p.CacheLineBytes);
        w.WriteBoolean("bounceUnalignedKmalloc", p.BounceUnalignedKmalloc);
        w.WriteString("memoryEncryptionMask", Hex(p.MemoryEncryptionMask));
        w.WriteStartObject("swiotlb");
        if (p.Swiotlb.Start is { } start) w.WriteString("start", Hex(start));
        else w.WriteNull("start");
        w.WriteNumber("nslabs", p.Swiotlb.Nslabs);
        w.WriteNumber("nareas", p.Swiotlb.Nareas);
        w.WriteBoolean("force", p.Swiotlb.Force);
        w.WriteBoolean("dynamic", p.Swiotlb.Dynamic);
        w.WriteEndObject();
        w.WriteStartObject("iommu");
        w.WriteString("granule", Hex(p.Iommu.Granule));
        w.WriteString("apertureStart", Hex(p.Iommu.ApertureStart));
        w.WriteString("apertureEnd", Hex(p.Iommu.ApertureEnd));
        w.WriteBoolean("forceDac", p.Iommu.ForceDac);
        w.WriteBoolean("singleFlushQueue", p.Iommu.SingleFlushQueue);
        w.WriteBoolean("softwareMsi", p.Iommu.SoftwareMsi);
        WriteRegions(w, "hostBridgeWindows", p.Iommu.HostBridgeWindows);
        w.WriteNumber("tickPhaseNs", p.Iommu.TickPhaseNs);
        w.WriteNumber("flushTimerLateNs", p.Iommu.FlushTimerLateNs);
        w.WriteStartObject("iotlb"); // the hardware model's IOTLB (iommu.iotlb, iommu.iotlb.entries, iommu.iotlb.ways)
        w.WriteString("preset", p.Iommu.Iotlb.Name);
        w.WriteNumber("entries", p.Iommu.Iotlb.Entries);
        w.WriteNumber("ways", p.Iommu.Iotlb.Ways);
        w.WriteEndObject();
        w.WriteString("deviceAccess", DmaReplay.Engine.Iommu.Hardware.DeviceAccessNames.Name(p.Iommu.DeviceAccess));
        w.WriteEndObject();
        w.WriteString("defaultIommu", PlatformSettings.IommuName(p.DefaultIommuDomain));
        var a = p.Allocation;
        w.WriteStartObject("allocation");
        if (a.AtomicPoolSize is { } pool) w.WriteString("coherentPool", Hex(pool));
        else w.WriteNull("coherentPool");
        w.WriteString("zoneDmaLimit", Hex(a.ZoneDmaLimit));
        w.WriteBoolean("directRemap", a.DirectRemap);
        w.WriteString("cmaSize", Hex(a.CmaBytes));
        WriteRegion(w, "globalCoherent", a.GlobalCoherent);
        w.WriteNumber("atomicPoolExpandDelayNs", a.AtomicPoolExpandDelayNs);
        w.WriteEndObject();
        w.WriteStartArray("devices");
        foreach (var d in p.Devices)
        {
            w.WriteStartObject();
            w.WriteString("name", d.Name);
            w.WriteString("bus", d.Bus);
            w.WriteString("driver", d.Driver);
            w.WriteNumber("dmaMaskBits", d.DmaMaskBits);
            w.WriteNumber("coherentMaskBits", d.CoherentMaskBits);
            w.WriteString("busDmaLimit", Hex(d.BusDmaLimit));
            w.WriteStartArray("dmaRanges");
            foreach (var r in d.DmaRanges)
            {
                w.WriteStartObject();
                w.WriteString("cpuStart", Hex(r.CpuStart));
                w.WriteString("dmaStart", Hex(r.DmaStart));
                w.WriteString("size", Hex(r.Size));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteBoolean("coherent", d.Coherent);
            w.WriteString("minAlignMask", Hex(d.MinAlignMask));
            if (d.SegmentLimitsKnown)
            {
                // Only limits the driver or the user set; absent, they are the PCI defaults and the sg segment rules stay off.
                w.WriteString("maxSegmentSize", Hex(d.MaxSegmentSize));
                w.WriteString("segmentBoundaryMask", Hex(d.SegmentBoundaryMask));
            }
            w.WriteString("iommu", PlatformSettings.IommuName(d.IommuDomain));
            if (d.IommuGroup is { } g) w.WriteNumber("iommuGroup", g);
            else w.WriteNull("iommuGroup");
            WriteRegions(w, "iommuReserved", d.IommuReserved);
            w.WriteBoolean("untrusted", d.Untrusted);
            if (d.CoherentMem is not null) WriteRegion(w, "coherentMem", d.CoherentMem);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }

    private static void WriteRegion(Utf8JsonWriter w, string key, CoherentRegion? r)
    {
        if (r is null)
        {
            w.WriteNull(key);
            return;
        }
        w.WriteStartObject(key);
        w.WriteString("deviceBase", Hex(r.DeviceBase));
        w.WriteString("size", Hex(r.Size));
        w.WriteEndObject();
    }

    private static CoherentRegion? ReadRegion(JsonElement e, string key) =>
        e.TryGetProperty(key, out var r) && r.ValueKind == JsonValueKind.Object
            ? new CoherentRegion(Num(r, "deviceBase") ?? 0, Num(r, "size") ?? 0) : null;

    private static void WriteRegions(Utf8JsonWriter w, string key, IReadOnlyList<IommuRegion> regions)
    {
        w.WriteStartArray(key);
        foreach (var r in regions)
        {
            w.WriteStartObject();
            w.WriteString("start", Hex(r.Start));
            w.WriteString("end", Hex(r.End));
            w.WriteString("type", r.Type);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static List<IommuRegion> Regions(JsonElement e, string key) =>
        e.TryGetProperty(key, out var rs) && rs.ValueKind == JsonValueKind.Array
            ? rs.EnumerateArray().Select(r => new IommuRegion(
                Num(r, "start") ?? throw new FormatException($"a {key} entry has no start"),
                Num(r, "end") ?? throw new FormatException($"a {key} entry has no end"),
                Str(r, "type") ?? "reserved")).ToList()
            : [];

    /// <summary>The platform file's text.</summary>
    public static string ToJson(PlatformModel p)
    {
        using var ms = new MemoryStream();
        Write(p, ms);
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>Writes the platform file, creating its folder.</summary>
    public static void Write(PlatformModel p, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var file = File.Create(path);
        Write(p, file);
    }

    public static PlatformModel Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            return Parse(doc.RootElement, path);
        }
        catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException or FormatException or OverflowException)
        {
            throw new FormatException($"{path}: {ex.Message}", ex);
        }
    }

    private static PlatformModel Parse(JsonElement root, string path)
    {
        var p = new PlatformModel { Name = Str(root, "name") ?? Path.GetFileNameWithoutExtension(path) };
        p = p with
        {
            Cpus = Int(root, "cpus") ?? p.Cpus,
            CoherentByDefault = Bool(root, "coherentByDefault") ?? p.CoherentByDefault,
            DmaCacheAlignment = Int(root, "dmaCacheAlignment") ?? p.DmaCacheAlignment,
            CacheLineBytes = Int(root, "cacheLineBytes") ?? p.CacheLineBytes,
            BounceUnalignedKmalloc = Bool(root, "bounceUnalignedKmalloc") ?? p.BounceUnalignedKmalloc,
            MemoryEncryptionMask = Num(root, "memoryEncryptionMask") ?? 0,
            Provenance = [$"platform file {path}"],
        };
        if (root.TryGetProperty("ram", out var ram))
            p = p with { Ram = ram.EnumerateArray().Select(r => new MemoryRange(Num(r, "start") ?? 0, Num(r, "end") ?? 0)).ToList() };
        if (root.TryGetProperty("swiotlb", out var s))
        {
            p = p with
            {
                Swiotlb = PlatformSettings.Normalize(new SwiotlbConfig
                {
                    Start = Num(s, "start"),
                    Nslabs = Int(s, "nslabs") ?? 0,
                    Nareas = Int(s, "nareas") ?? 1,
                    Force = Bool(s, "force") ?? false,
                    Dynamic = Bool(s, "dynamic") ?? false,
                }, p),
            };
        }
        if (root.TryGetProperty("iommu", out var io))
        {
            var d = p.Iommu;
            p = p with
            {
                Iommu = new IommuConfig
                {
                    Granule = Num(io, "granule") ?? d.Granule,
                    ApertureStart = Num(io, "apertureStart") ?? d.ApertureStart,
                    ApertureEnd = Num(io, "apertureEnd") ?? d.ApertureEnd,
                    ForceDac = Bool(io, "forceDac") ?? d.ForceDac,
                    SingleFlushQueue = Bool(io, "singleFlushQueue") ?? d.SingleFlushQueue,
                    SoftwareMsi = Bool(io, "softwareMsi") ?? d.SoftwareMsi,
                    HostBridgeWindows = Regions(io, "hostBridgeWindows"),
                    TickPhaseNs = Long(io, "tickPhaseNs") ?? d.TickPhaseNs,
                    FlushTimerLateNs = Long(io, "flushTimerLateNs") ?? d.FlushTimerLateNs,
                    Iotlb = io.TryGetProperty("iotlb", out var tlb) ? Iotlb(tlb, d.Iotlb) : d.Iotlb,
                    DeviceAccess = Str(io, "deviceAccess") is { } access ? DmaReplay.Engine.Iommu.Hardware.DeviceAccessNames.Parse(access) : d.DeviceAccess,
                },
            };
        }
        if (root.TryGetProperty("allocation", out var al))
        {
            var d = p.Allocation;
            p = p with
            {
                Allocation = new AllocationConfig
                {
                    AtomicPoolSize = Num(al, "coherentPool"),
                    ZoneDmaLimit = Num(al, "zoneDmaLimit") ?? d.ZoneDmaLimit,
                    DirectRemap = Bool(al, "directRemap") ?? d.DirectRemap,
                    CmaBytes = Num(al, "cmaSize") ?? d.CmaBytes,
                    GlobalCoherent = ReadRegion(al, "globalCoherent"),
                    AtomicPoolExpandDelayNs = Long(al, "atomicPoolExpandDelayNs") ?? d.AtomicPoolExpandDelayNs,
                },
            };
        }
        if (Str(root, "defaultIommu") is { } defaultIommu)
            p = p with { DefaultIommuDomain = PlatformSettings.Iommu(defaultIommu, "defaultIommu") };
        if (root.TryGetProperty("devices", out var devs))
        {
            p = p with
            {
                Devices = devs.EnumerateArray().Select(d => new DeviceModel
                {
                    Name = Str(d, "name") ?? throw new FormatException("a device has no name"),
                    Bus = Str(d, "bus") ?? "pci",
                    Driver = Str(d, "driver") ?? "",
                    DmaMaskBits = Int(d, "dmaMaskBits") ?? 64,
                    CoherentMaskBits = Int(d, "coherentMaskBits") ?? 64,
                    BusDmaLimit = Num(d, "busDmaLimit") ?? 0,
                    DmaRanges = d.TryGetProperty("dmaRanges", out var rs)
                        ? rs.EnumerateArray().Select(r => new DmaRange(Num(r, "cpuStart") ?? 0, Num(r, "dmaStart") ?? 0, Num(r, "size") ?? 0)).ToList()
                        : [],
                    Coherent = Bool(d, "coherent") ?? p.CoherentByDefault,
                    MinAlignMask = Num(d, "minAlignMask") ?? 0,
                    MaxSegmentSize = Num(d, "maxSegmentSize") ?? 65536,
                    SegmentBoundaryMask = Num(d, "segmentBoundaryMask") ?? 0xffff_ffff,
                    IommuDomain = Str(d, "iommu") is { } io ? PlatformSettings.Iommu(io, "iommu") : IommuDomainType.None,
                    IommuGroup = Int(d, "iommuGroup"),
                    IommuReserved = Regions(d, "iommuReserved"),
                    Untrusted = Bool(d, "untrusted") ?? false,
                    SegmentLimitsKnown = d.TryGetProperty("maxSegmentSize", out _) || d.TryGetProperty("segmentBoundaryMask", out _),
                    CoherentMem = ReadRegion(d, "coherentMem"),
                }).ToList(),
            };
        }
        return p;
    }

    /// <summary>"iotlb": a preset name, then entries and ways over it; entries a positive multiple of ways.</summary>
    private static DmaReplay.Engine.Iommu.Hardware.IotlbGeometry Iotlb(JsonElement e, DmaReplay.Engine.Iommu.Hardware.IotlbGeometry fallback)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new FormatException("iommu.iotlb: an object {\"preset\", \"entries\", \"ways\"}");
        var g = Str(e, "preset") is { } preset ? DmaReplay.Engine.Iommu.Hardware.IotlbGeometry.Preset(preset) : fallback;
        g = g with { Entries = Int(e, "entries") ?? g.Entries, Ways = Int(e, "ways") ?? g.Ways };
        if (g.Entries <= 0 || g.Ways <= 0 || g.Entries % g.Ways != 0)
            throw new FormatException($"iommu.iotlb: entries ({g.Entries}) must be a positive multiple of ways ({g.Ways})");
        return g;
    }

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private static string? Str(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static int? Int(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;

    private static long? Long(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private static bool? Bool(JsonElement e, string key) =>
        e.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>A number given as "0x…" / decimal string, or as a JSON number.</summary>
    private static ulong? Num(JsonElement e, string key)
    {
        if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number) return v.GetUInt64();
        return PlatformSettings.Number(v.GetString() ?? "", key);
    }
}
