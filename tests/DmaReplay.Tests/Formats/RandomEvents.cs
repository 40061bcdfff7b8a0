using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Formats;

/// <summary>
/// Random events of one kind with the fields its line prints, values anywhere the kernel can
/// print them, and awkward names: commas, quotes, spaces where the kernel allows them, and a
/// leading = + - @ or ' that the CSV injection guard must protect and give back.
/// </summary>
internal static class RandomEvents
{
    private const string Awkward = "abcxyz09_/:.,\"'=+-@";
    private static readonly string[] Devices = ["0000:00:02.0", "0000:3b:00.1", "fe300000.dma-controller", "virtio0", "=dev", "-x,\"y\""];
    private static readonly string[] Gfp = ["GFP_KERNEL", "GFP_ATOMIC|__GFP_ZERO", "GFP_KERNEL|__GFP_NOWARN|0x100000", "none", ""];
    private static readonly string[] Dirs = ["BIDIRECTIONAL", "TO_DEVICE", "FROM_DEVICE", "NONE"];

    public static DmaEvent Make(DmaEventKind kind, Random r, TraceStrings s)
    {
        var e = new DmaEvent();
        e.Reset();
        e.Kind = kind;
        e.TimestampNs = r.NextInt64(0, 99_999_999_999_999) / (r.Next(2) == 0 ? 1 : 1000) * (r.Next(2) == 0 ? 1 : 1000);
        e.Cpu = r.Next(0, 1024);
        e.Pid = r.Next(0, int.MaxValue);
        e.Tgid = r.Next(3) == 0 ? r.Next(0, 10_000_000) : -1;
        e.Task = s.Tasks.Intern(Comm(r));
        if (r.Next(5) == 0) e.Flags = TraceContextFlags.NoFlagColumn;
        else
        {
            var flags = "dDbX."[r.Next(5)] + "NnpLlBb."[r.Next(8)].ToString() + "ZzHhs."[r.Next(6)] + "0123456789abcdef."[r.Next(17)] + "0123456789abcdef."[r.Next(17)];
            Assert.IsTrue(global::DmaReplay.Parsers.Ftrace.FtraceTextReader.TryParseLatencyFlags(System.Text.Encoding.ASCII.GetBytes(flags), out var f, out byte p, out byte m));
            e.Flags = f;
            e.PreemptDepth = p;
            e.MigrateDisable = m;
        }
        if (kind.System() is not TraceSystem.DmaFence && kind is not (DmaEventKind.IommuMap or DmaEventKind.IommuUnmap))
            e.Device = s.Devices.Intern(Devices[r.Next(Devices.Length)]);
        if (kind.System() == TraceSystem.Dma)
        {
            int dir = r.Next(6);
            e.Direction = dir < 4 ? (DmaDirection)dir : DmaDirection.Unknown;
            e.RawDirection = dir < 4 ? (uint)dir : (uint)r.Next(4, 256);
        }
        if (r.Next(4) == 0) e.KernelStack = Stack(r, s);
        if (r.Next(6) == 0) e.UserStack = Stack(r, s);
        ulong Addr() => r.Next(3) switch { 0 => (ulong)r.NextInt64(), 1 => ulong.MaxValue, _ => (ulong)r.Next() << 12 };
        ulong Size() => r.Next(2) == 0 ? (ulong)r.Next(1, 1 << 20) : (ulong)r.NextInt64();
        DmaAttrs Attrs() => (DmaAttrs)((ulong)r.Next(0, 4096) & ~0b1001UL | (r.Next(8) == 0 ? 1UL << 40 : 0) | (r.Next(16) == 0 ? 1UL << 63 : 0));
        ulong[] List(int n) => Enumerable.Range(0, n).Select(_ => Addr()).ToArray();
        void Gfp() { string g = RandomEvents.Gfp[r.Next(RandomEvents.Gfp.Length)]; e.GfpText = s.Text.Intern(g); e.Gfp = GfpNames.Parse(System.Text.Encoding.ASCII.GetBytes(g)); }
        switch (kind)
        {
            case DmaEventKind.DmaMapPage or DmaEventKind.DmaMapResource or DmaEventKind.DmaMapPhys:
                e.DmaAddr = Addr(); e.Size = Size(); e.PhysAddr = Addr(); e.Attrs = Attrs(); break;
            case DmaEventKind.DmaUnmapPage or DmaEventKind.DmaUnmapResource or DmaEventKind.DmaUnmapPhys:
                e.DmaAddr = Addr(); e.Size = Size(); e.Attrs = Attrs(); break;
            case DmaEventKind.DmaAlloc or DmaEventKind.DmaFree:
                e.DmaAddr = Addr(); e.Size = Size(); e.VirtAddr = Addr(); if (kind == DmaEventKind.DmaAlloc) Gfp(); e.Managed = r.Next(2) == 0; e.Attrs = Attrs(); break;
            case DmaEventKind.DmaAllocPages or DmaEventKind.DmaAllocSgtErr:
                e.DmaAddr = Addr(); e.Size = Size(); e.VirtAddr = Addr(); Gfp(); e.Attrs = Attrs(); break;
            case DmaEventKind.DmaFreePages:
                e.DmaAddr = Addr(); e.Size = Size(); e.VirtAddr = Addr(); e.Attrs = Attrs(); break;
            case DmaEventKind.DmaAllocSgt or DmaEventKind.DmaFreeSgt:
                e.DmaAddr = Addr(); e.Size = Size(); e.SetArray(SgArray.Phys, List(r.Next(0, 6))); e.Nents = e.PhysAddrs.Length;
                if (kind == DmaEventKind.DmaAllocSgt) { Gfp(); e.Attrs = Attrs(); }
                break;
            case DmaEventKind.DmaMapSg:
            {
                int n = r.Next(0, 8), m = r.Next(0, n + 1);
                e.SetArray(SgArray.Phys, List(n)); e.SetArray(SgArray.Dma, List(m)); e.SetArray(SgArray.Lengths, List(m));
                e.Truncated = r.Next(4) == 0;
                e.Nents = e.Truncated ? n + r.Next(0, 1000) : n; e.Ents = e.Truncated ? m + r.Next(0, 1000) : m; e.Attrs = Attrs();
                break;
            }
            case DmaEventKind.DmaMapSgErr:
                e.SetArray(SgArray.Phys, List(r.Next(0, 6))); e.Nents = e.PhysAddrs.Length; e.Error = -r.Next(1, 200); e.Attrs = Attrs(); break;
            case DmaEventKind.DmaUnmapSg:
                e.SetArray(SgArray.Phys, List(r.Next(0, 6))); e.Nents = e.PhysAddrs.Length; e.Attrs = Attrs(); break;
            case DmaEventKind.DmaSyncSingleForCpu or DmaEventKind.DmaSyncSingleForDevice:
                e.DmaAddr = Addr(); e.Size = Size(); break;
            case DmaEventKind.DmaSyncSgForCpu or DmaEventKind.DmaSyncSgForDevice:
            {
                int n = r.Next(0, 6);
                e.SetArray(SgArray.Dma, List(n)); e.SetArray(SgArray.Lengths, List(n)); e.Nents = n;
                break;
            }
            case DmaEventKind.SwiotlbBounced:
                e.DmaMask = Addr(); e.DmaAddr = Addr(); e.Size = Size(); e.BounceReason = (SwiotlbBounceReason)r.Next(3); break;
            case DmaEventKind.IommuMap:
                e.DmaAddr = Addr(); e.PhysAddr = Addr(); e.Size = Size(); break;
            case DmaEventKind.IommuUnmap:
                e.DmaAddr = Addr(); e.Size = Size(); e.UnmappedSize = Size(); break;
            case DmaEventKind.IommuIoPageFault:
                e.Driver = s.Text.Intern(r.Next(4) == 0 ? "" : Word(r)); e.DmaAddr = Addr(); e.FaultFlags = r.Next(); break;
            case DmaEventKind.IommuAddDeviceToGroup or DmaEventKind.IommuRemoveDeviceFromGroup:
                e.GroupId = r.Next(-1, 1000); break;
            case DmaEventKind.DmaPoolCreate:
                e.Size = Size(); e.Align = Size(); e.Boundary = r.Next(2) == 0 ? 0 : Size(); e.Pool = s.Text.Intern(Name(r)); break;
            case DmaEventKind.DmaPoolDestroy:
                e.Pool = s.Text.Intern(Name(r)); break;
            case DmaEventKind.DmaPoolAlloc:
                e.DmaAddr = Addr(); e.VirtAddr = Addr(); Gfp(); e.Pool = s.Text.Intern(Name(r)); break;
            case DmaEventKind.DmaPoolFree:
                e.DmaAddr = Addr(); e.VirtAddr = Addr(); e.Pool = s.Text.Intern(Name(r)); break;
            case DmaEventKind.DeviceUnbind:
                e.Driver = s.Text.Intern(Word(r)); break;
            case DmaEventKind.IommuAttachDeviceToDomain or DmaEventKind.IommuDetachDeviceFromDomain:
                break;
            default: // fences
                e.Driver = s.Text.Intern(Word(r)); e.Timeline = s.Text.Intern(Name(r)); e.Context = (uint)r.NextInt64(0, uint.MaxValue + 1L);
                e.Seqno = (ulong)r.NextInt64(); break;
        }
        return e;
    }

    /// <summary>A comm as tracefs prints it unambiguously: 1–15 characters, no '[', not starting or ending with a space.</summary>
    private static string Comm(Random r)
    {
        var c = new string(Enumerable.Range(0, r.Next(1, 16)).Select(_ => (Awkward + " ")[r.Next(Awkward.Length + 1)]).ToArray()).Trim();
        return c.Length == 0 ? "x" : c;
    }

    /// <summary>A name without spaces (device, driver).</summary>
    private static string Word(Random r) => new(Enumerable.Range(0, r.Next(1, 20)).Select(_ => Awkward[r.Next(Awkward.Length)]).ToArray());

    /// <summary>A name that may hold spaces inside (pool, timeline), as "xHCI ring segments".</summary>
    private static string Name(Random r) => (Word(r) + " " + Word(r)).Trim();

    private static int Stack(Random r, TraceStrings s)
    {
        var frames = Enumerable.Range(0, r.Next(1, 6)).Select(_ => s.Functions.Intern(Word(r) + "+0x1a/0x40")).ToArray();
        return s.Stacks.Intern(frames);
    }
}
