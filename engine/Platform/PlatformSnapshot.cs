namespace DmaReplay.Engine.Platform;

/// <summary>
/// The platform of the running Linux machine, read from procfs, sysfs and debugfs: the facts a
/// capture bundle holds, without a capture. Every path is taken under a root folder, so a fake tree
/// stands in for the machine in tests. Unreadable files are not errors: each is recorded in the
/// provenance and in <see cref="Snapshot.Unread"/>, and its facts keep their defaults.
/// </summary>
public static class PlatformSnapshot
{
    /// <summary>The platform read, and the files that could not be read (path: what it means).</summary>
    public sealed record Snapshot(PlatformModel Platform, IReadOnlyList<string> Unread);

    private static readonly KernelText.SourceNames Sources = new("/proc/cmdline", "/var/log/kern.log", "/sys/kernel/debug/swiotlb");

    public static PlatformModel FromSystem(string root = "/") => Take(root).Platform;

    public static Snapshot Take(string root = "/", KernelDefaults? kernel = null)
    {
        var k = kernel ?? KernelDefaults.Linux612;
        var fs = new Tree(root);
        var provenance = new List<string> { $"snapshot of the running system under {root}" };
        if (fs.Text("/proc/sys/kernel/osrelease", "the kernel release") is { } release) provenance.Add($"kernel {release.Trim()}");

        string cmdline = fs.Text("/proc/cmdline", "the command line (swiotlb=, iommu.strict=, intel_iommu=)")?.Trim() ?? "";
        if (KernelText.CmdlineValue(cmdline, "intel_iommu") is { } intel) provenance.Add($"intel_iommu={intel} in /proc/cmdline");
        if (KernelText.CmdlineValue(cmdline, "iommu.strict") is { } strict)
            provenance.Add($"iommu.strict={strict} in /proc/cmdline: " + (strict == "0" ? "lazy (DMA-FQ) domains" : "strict (DMA) domains"));

        int cpus = KernelText.CpuCount(fs.Text("/sys/devices/system/cpu/possible", "the CPU count (cpus=1)")) ?? 1;
        provenance.Add($"cpus={cpus} from /sys/devices/system/cpu/possible");

        var (ram, hidden) = KernelText.IomemRam(fs.Text("/proc/iomem", "the RAM ranges"), "/proc/iomem", provenance);
        if (hidden) fs.Unreadable("/proc/iomem", "the RAM ranges: the kernel shows zeros to non-root readers (run as root)");

        var devices = Devices(fs, provenance);
        var swiotlb = Swiotlb(fs, cmdline, cpus, ram, k, provenance);

        string name = fs.Text("/proc/sys/kernel/hostname", "the host name")?.Trim() is { Length: > 0 } host ? host : "snapshot";
        provenance.AddRange(fs.Unread.Select(u => "not read: " + u));
        var platform = new PlatformModel
        {
            Name = name,
            Cpus = cpus,
            Ram = ram,
            Swiotlb = swiotlb,
            Devices = devices,
            Provenance = provenance,
            Kernel = k,
        };
        return new Snapshot(platform, fs.Unread);
    }

    /// <summary>/sys/bus/pci/devices/*: driver link, DMA masks and IOMMU group; group types from /sys/kernel/iommu_groups.</summary>
    private static List<DeviceModel> Devices(Tree fs, List<string> provenance)
    {
        var groupType = new Dictionary<int, IommuDomainType>();
        var deviceGroup = new Dictionary<string, int>();
        foreach (var dir in fs.Entries("/sys/kernel/iommu_groups", "the IOMMU groups (none without an IOMMU)"))
        {
            if (!int.TryParse(dir, out int g)) continue;
            string at = $"/sys/kernel/iommu_groups/{dir}";
            if (fs.Text(at + "/type", "the group's domain type") is { } type) groupType[g] = KernelText.IommuDomain(type);
            foreach (var dev in fs.Entries(at + "/devices", "the group's devices")) deviceGroup[dev] = g;
        }

        var devices = new List<DeviceModel>();
        foreach (var bdf in fs.Entries("/sys/bus/pci/devices", "the PCI devices"))
        {
            string at = $"/sys/bus/pci/devices/{bdf}";
            int? group = int.TryParse(fs.LinkName(at + "/iommu_group"), out int g) ? g : deviceGroup.TryGetValue(bdf, out g) ? g : null;
            (int, IommuDomainType)? iommu = group is { } n ? (n, groupType.GetValueOrDefault(n)) : null;
            devices.Add(KernelText.PciDevice(bdf, fs.LinkName(at + "/driver"),
                fs.Text(at + "/dma_mask_bits", "the device's DMA mask (32 bits assumed)")?.Trim(),
                fs.Text(at + "/consistent_dma_mask_bits", "the device's coherent DMA mask (32 bits assumed)")?.Trim(),
                iommu, provenance));
        }
        provenance.Add($"devices: {devices.Count} PCI devices with their DMA masks from /sys/bus/pci/devices" +
            (groupType.Count > 0 ? $", IOMMU domains of {groupType.Count} groups from /sys/kernel/iommu_groups" : ""));
        return devices;
    }

    private static SwiotlbConfig Swiotlb(Tree fs, string cmdline, int cpus, IReadOnlyList<MemoryRange> ram, KernelDefaults k, List<string> provenance)
    {
        const string debugfs = "/sys/kernel/debug/swiotlb";
        const string needsRoot = "(debugfs: root only; absent without a pool)";
        int? nslabs = int.TryParse(fs.Text(debugfs + "/io_tlb_nslabs", "the pool size " + needsRoot)?.Trim(), out int n) ? n : null;
        var used = fs.Text(debugfs + "/io_tlb_used", "slots in use " + needsRoot)?.Trim();
        var hiwater = fs.Text(debugfs + "/io_tlb_used_hiwater", "the high-water mark of slots in use " + needsRoot)?.Trim();
        if (used is not null || hiwater is not null)
            provenance.Add($"swiotlb now: io_tlb_used={used ?? "?"}, io_tlb_used_hiwater={hiwater ?? "?"} from {debugfs}");
        return KernelText.Swiotlb(SwiotlbParam.Parse(cmdline), KernelLog(fs, cmdline, provenance), cpus, ram, nslabs, k, Sources, provenance);
    }

    /// <summary>
    /// The current boot's part of /var/log/kern.log (from its last "Command line:" on), or "" when the
    /// log is unreadable or that boot's command line is not the running kernel's (the log is older).
    /// </summary>
    private static string KernelLog(Tree fs, string cmdline, List<string> provenance)
    {
        const string path = "/var/log/kern.log";
        var log = fs.Text(path, "the kernel log (SWIOTLB pool start and areas)");
        if (log is null) return "";
        const string marker = "Command line: ";
        int at = log.LastIndexOf(marker, StringComparison.Ordinal);
        int eol = at < 0 ? -1 : log.IndexOf('\n', at);
        string logged = at < 0 ? "" : (eol < 0 ? log[(at + marker.Length)..] : log[(at + marker.Length)..eol]).Trim();
        if (at < 0 || logged != cmdline)
        {
            fs.Unreadable(path, "the kernel log holds no boot with the running command line (rotated or another boot)");
            return "";
        }
        provenance.Add($"kernel log: {path} from the running boot's 'Command line:'");
        return log[at..];
    }

    /// <summary>Files under the root, read leniently; what cannot be read is remembered with why it mattered.</summary>
    private sealed class Tree(string root)
    {
        public List<string> Unread { get; } = [];

        private string Full(string path) => Path.Combine(root, path.TrimStart('/'));

        public void Unreadable(string path, string what) => Unread.Add($"{path}: {what}");

        public string? Text(string path, string what)
        {
            try
            {
                return File.ReadAllText(Full(path));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Unreadable(path, what);
                return null;
            }
        }

        /// <summary>Names in a folder (sorted), or none when it cannot be listed.</summary>
        public IReadOnlyList<string> Entries(string path, string what)
        {
            try
            {
                return Directory.EnumerateFileSystemEntries(Full(path)).Select(e => Path.GetFileName(e)).Order(StringComparer.Ordinal).ToList();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Unreadable(path, what);
                return [];
            }
        }

        /// <summary>The last component of a symbolic link's target (a driver or group name), or null without a link.</summary>
        public string? LinkName(string path)
        {
            try
            {
                return new FileInfo(Full(path)).LinkTarget is { } target ? Path.GetFileName(target.TrimEnd('/')) : null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
