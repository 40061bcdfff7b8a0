namespace DmaReplay.Tests.Platform;

/// <summary>
/// A fake Linux root in a temp folder, laid out as procfs, sysfs and debugfs are: PCI devices are
/// links from /sys/bus/pci/devices into /sys/devices, drivers and IOMMU groups are links too.
/// </summary>
internal sealed class FakeSystem
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "dmareplay-tests", "root-" + Guid.NewGuid().ToString("n"));

    public const string Iomem =
        "00000000-00000fff : Reserved\n" +
        "00001000-0009fbff : System RAM\n" +
        "000a0000-000bffff : PCI Bus 0000:00\n" +
        "00100000-bfffffff : System RAM\n" +
        "  01000000-0220bb07 : Kernel code\n" +
        "c0000000-febfffff : PCI Bus 0000:00\n" +
        "100000000-23fffffff : System RAM\n";

    public const string HiddenIomem =
        "00000000-00000000 : Reserved\n" +
        "00000000-00000000 : System RAM\n" +
        "  00000000-00000000 : Kernel code\n";

    public const string Cmdline = "console=ttyS0 intel_iommu=on iommu.strict=0 swiotlb=2048,force";

    /// <summary>The full tree: 8 CPUs, 8 GiB above 4 GiB, nvme in group 2 (DMA-FQ), e1000e without a group, a 2048-slot pool.</summary>
    public static FakeSystem Standard()
    {
        var fs = new FakeSystem();
        fs.Write("proc/iomem", Iomem);
        fs.Write("proc/cmdline", Cmdline + "\n");
        fs.Write("proc/sys/kernel/hostname", "testbox\n");
        fs.Write("proc/sys/kernel/osrelease", "6.12.117+deb13-amd64\n");
        fs.Write("sys/devices/system/cpu/possible", "0-7\n");
        fs.Pci("0000:00:02.0", "nvme", 64, 64, group: 2);
        fs.Pci("0000:00:03.0", "e1000e", 64, 32, group: null);
        fs.Write("sys/kernel/iommu_groups/2/type", "DMA-FQ\n");
        fs.Link("sys/kernel/iommu_groups/2/devices/0000:00:02.0", "../../../../devices/pci0000:00/0000:00:02.0");
        fs.Write("sys/kernel/debug/swiotlb/io_tlb_nslabs", "2048\n");
        fs.Write("sys/kernel/debug/swiotlb/io_tlb_used", "3\n");
        fs.Write("sys/kernel/debug/swiotlb/io_tlb_used_hiwater", "130\n");
        fs.Write("var/log/kern.log",
            "Jan  1 00:00:00 testbox kernel: [    0.000000] Command line: console=ttyS0\n" +
            "Jan  1 00:00:00 testbox kernel: [    0.081772] software IO TLB: area num 8.\n" +
            "Jan  1 00:00:00 testbox kernel: [    0.000000] Linux version 6.12.117+deb13-amd64\n" +
            $"Jan  2 00:00:00 testbox kernel: [    0.000000] Command line: {Cmdline}\n" +
            "Jan  2 00:00:00 testbox kernel: [    0.081772] software IO TLB: area num 4.\n" +
            "Jan  2 00:00:00 testbox kernel: [    0.412000] software IO TLB: mapped [mem 0x00000000bbe00000-0x00000000bc200000] (4MB)\n");
        return fs;
    }

    public void Write(string path, string text)
    {
        var full = Path.Combine(Root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
    }

    public void Link(string path, string target)
    {
        var full = Path.Combine(Root, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.CreateSymbolicLink(full, target);
    }

    public void Pci(string bdf, string driver, int dmaBits, int coherentBits, int? group)
    {
        string dev = $"sys/devices/pci0000:00/{bdf}";
        Write($"{dev}/vendor", "0x8086\n");
        Write($"{dev}/dma_mask_bits", $"{dmaBits}\n");
        Write($"{dev}/consistent_dma_mask_bits", $"{coherentBits}\n");
        Link($"{dev}/driver", $"../../../bus/pci/drivers/{driver}");
        if (group is { } g) Link($"{dev}/iommu_group", $"../../../kernel/iommu_groups/{g}");
        Link($"sys/bus/pci/devices/{bdf}", $"../../../devices/pci0000:00/{bdf}");
    }
}
