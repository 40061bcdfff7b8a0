using System.Text;
using DmaReplay.Engine.Checks;
using DmaReplay.Engine.Pools;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// The pool, unbind and atomic-pool workloads (<see cref="SynthOptions.Workloads"/>) and the
/// faults of the pool and unbind rules. Pool blocks are handed out by the engine's
/// <see cref="DmaPool"/> (mm/dmapool.c), atomic allocations by <see cref="AtomicPools"/>
/// (kernel/dma/pool.c), so their addresses are the kernel's for the pages the trace shows.
/// Everything here draws from its own random generator: without these workloads and faults the
/// trace is byte for byte what it was.
/// </summary>
public sealed partial class TraceSynthesizer
{
    /// <summary>The xHCI controller of the pool and unbind workloads.</summary>
    private static ReadOnlySpan<byte> Xhci => "0000:00:05.0"u8;
    /// <summary>The device the pool and unbind faults use (its own pools, its own unbinds).</summary>
    private static ReadOnlySpan<byte> FaultDev => "0000:00:06.0"u8;
    /// <summary>The device the leak-at-unbind faults bind and unbind.</summary>
    private static ReadOnlySpan<byte> UnbindDev => "0000:00:08.0"u8;
    /// <summary>The device of the atomic-pool workload (GFP_ATOMIC coherent allocations from interrupt context).</summary>
    private static ReadOnlySpan<byte> AtomicDev => "0000:00:07.0"u8;

    /// <summary>xhci-mem.c: "xHCI input/output contexts" (2112 bytes, align 64, boundary the page) and hcd_buffer_create's "buffer-64".</summary>
    private static readonly (string Name, ulong Size, ulong Align, ulong Boundary)[] XhciPools =
        [("xHCI input/output contexts", 2112, 64, 4096), ("buffer-64", 64, 64, 0)];

    private readonly Random _workRng;
    private readonly SynthTask _xhciTask = new("kworker/0:2", 51);
    private readonly SynthTask _atomicIrq = new("<idle>", 0);
    private readonly SynthTask _atomicTask = new("kworker/1:1", 63);
    private DmaPool?[] _xhciPools = [];
    private readonly List<(int Pool, ulong Block, ulong Virt)> _xhciLive = [];
    private readonly List<(ulong Dma, int Pages, ulong Virt)> _xhciPages = [];
    private (ulong Dma, ulong Virt) _xhciDcbaa, _xhciErst;
    private bool _xhciBound;
    private AtomicPools? _atomic;
    private readonly List<(ulong Phys, int Pages)>[] _atomicChunks = [[], [], []];
    private readonly List<(AtomicZone Zone, int Chunk, ulong Offset, ulong Size, ulong Dma, ulong Virt)> _atomicLive = [];
    private int _poolFaults;

    private static readonly SynthPlatform SevGuest = new("x86-64-sev-guest", 8UL << 30);

    /// <summary>The platform the atomic workload emulates: the SEV guest preset (force_dma_unencrypted: atomic pools serve GFP_ATOMIC).</summary>
    private sealed record SynthPlatform(string Name, ulong RamBytes);

    private bool Workload(SynthWorkloads w) => (_o.Workloads & w) != 0;

    private void ProbeWorkloads()
    {
        if (Workload(SynthWorkloads.Pools) || Workload(SynthWorkloads.Unbind)) ProbeXhci();
        if (Workload(SynthWorkloads.AtomicPressure))
        {
            _atomic = new AtomicPools(AtomicPools.DefaultSize(SevGuest.RamBytes, KernelDefaults.Linux612), hasDmaZone: true, AtomicPools.DefaultExpandDelayNs, KernelDefaults.Linux612);
            SyncAtomicChunks();
        }
        if (Workload(SynthWorkloads.Fences)) ProbeFences();
    }

    /// <summary>xhci_mem_init: the DCBAA (dma_alloc_coherent), a managed ERST (dmam_alloc_coherent), then the pools.</summary>
    private void ProbeXhci()
    {
        var t = _xhciTask;
        int cpu = 0;
        ulong a = _low.Alloc(1), v = HashedPointer();
        if (!AllocLine(t, cpu, Flags.Process, Xhci, a, 2048, v, "GFP_KERNEL"u8, managed: false)) return;
        _xhciDcbaa = (a, v);
        ulong b = _low.Alloc(1), w = HashedPointer();
        if (!AllocLine(t, cpu, Flags.Process, Xhci, b, 4096, w, "GFP_KERNEL"u8, managed: true)) return;
        _xhciErst = (b, w);
        _xhciPools = new DmaPool?[XhciPools.Length];
        for (int i = 0; i < XhciPools.Length; i++)
        {
            var (name, size, align, boundary) = XhciPools[i];
            if (!PoolCreateLine(t, cpu, Xhci, size, align, boundary, name)) return;
            _xhciPools[i] = DmaPool.Create(name, size, align, boundary, KernelDefaults.Linux612);
        }
        _xhciBound = true;
    }

    /// <summary>At an arrival: one step of a workload (its own dice); true when it wrote something.</summary>
    private bool MaybeWorkload()
    {
        if (Workload(SynthWorkloads.Unbind) && _xhciBound && _remaining <= _o.Events / 10 + 64) return XhciRemove();
        if (Workload(SynthWorkloads.Fences) && MaybeFenceWork()) return true;
        double r = _workRng.NextDouble();
        if (_xhciBound && Workload(SynthWorkloads.Pools) && r < 0.10) return XhciBlock();
        if (_atomic is not null && r >= 0.10 && r < 0.16) return AtomicBurst();
        return false;
    }

    /// <summary>A block from one of the xHCI pools, freed later (a command context or a 64-byte buffer).</summary>
    private bool XhciBlock()
    {
        int p = _workRng.Next(0, _xhciPools.Length);
        var pool = _xhciPools[p]!;
        if (!HasRoom(4)) return false;
        int cpu = Cpu();
        if (pool.NextBlock is null)
        {
            int pages = (int)(pool.Allocation >> PhysPageAllocator.PageShift);
            ulong page = _low.Alloc(pages, pages), v = HashedPointer();
            AllocLine(_xhciTask, cpu, Flags.Process, Xhci, page, pool.Allocation, v, "GFP_NOIO"u8, managed: false);
            pool.AddPage(page);
            _xhciPages.Add((page, pages, v));
        }
        ulong block = pool.Alloc(), virt = HashedPointer();
        PoolAllocLine(_xhciTask, cpu, Xhci, block, virt, "GFP_NOIO"u8, pool.Name);
        _xhciLive.Add((p, block, virt));
        // freed when a later arrival picks it: a few live at a time, in no particular order
        if (_xhciLive.Count > 6 || _workRng.NextDouble() < 0.4)
        {
            int i = _workRng.Next(0, _xhciLive.Count);
            var (fp, fb, fv) = _xhciLive[i];
            _xhciLive.RemoveAt(i);
            PoolFreeLine(_xhciTask, Cpu(), Xhci, fb, fv, _xhciPools[fp]!.Name);
            _xhciPools[fp]!.Free(fb);
        }
        return true;
    }

    /// <summary>
    /// xhci_pci_remove: the driver frees its blocks and destroys its pools (dma_pool_destroy frees
    /// each page, newest first), frees the DCBAA; then the unbind, where devres frees the managed
    /// ERST without a line of its own.
    /// </summary>
    private bool XhciRemove()
    {
        int lines = _xhciLive.Count + _xhciPools.Length + _xhciPages.Count + 2;
        if (!HasRoom(lines)) return false;
        int cpu = Cpu();
        foreach (var (p, b, v) in _xhciLive)
        {
            PoolFreeLine(_xhciTask, cpu, Xhci, b, v, _xhciPools[p]!.Name);
            _xhciPools[p]!.Free(b);
        }
        _xhciLive.Clear();
        for (int i = 0; i < _xhciPools.Length; i++)
        {
            var pool = _xhciPools[i]!;
            PoolDestroyLine(_xhciTask, cpu, Xhci, pool.Name);
            foreach (ulong page in pool.PageList)
            {
                var (dma, pages, virt) = _xhciPages.Single(x => x.Dma == page);
                FreeLine(_xhciTask, cpu, Xhci, dma, pool.Allocation, virt, managed: false);
                _low.Free(dma, pages);
            }
        }
        FreeLine(_xhciTask, cpu, Xhci, _xhciDcbaa.Dma, 2048, _xhciDcbaa.Virt, managed: false);
        _low.Free(_xhciDcbaa.Dma, 1);
        UnbindLine(_xhciTask, cpu, Xhci, "xhci_hcd"u8);
        LedgerRelease(Xhci, _xhciErst.Dma); // devres: dmam_release
        _xhciBound = false;
        return true;
    }

    /// <summary>
    /// GFP_ATOMIC coherent allocations from a hard interrupt (a NIC refilling a ring of 64–128 KiB
    /// buffers in bursts) on an encrypted guest: dma_direct_alloc takes them from the atomic pools.
    /// A burst may outrun the pool's growth: the allocation then fails as the kernel's would
    /// ("DMA pool exhausted"), a dma_alloc with a NULL address.
    /// </summary>
    private bool AtomicBurst()
    {
        int n = _workRng.Next(16, 65);
        int drain = Math.Max(0, _atomicLive.Count - 8);
        if (!HasRoom(n + drain)) return false;
        int cpu = Cpu();
        // the ring was drained from process context since the last burst: down to 8 buffers
        for (int i = 0; i < drain; i++)
        {
            var (zone, chunk, offset, size, dma, virt) = _atomicLive[0];
            _atomicLive.RemoveAt(0);
            FreeLine(_atomicTask, cpu, AtomicDev, dma, size, virt, managed: false);
            _atomic!.Free(zone, chunk, offset, size, _lastUs * 1000);
        }
        for (int i = 0; i < n; i++)
        {
            ulong size = 65536UL << _workRng.Next(0, 2);
            long nowNs = Math.Max(_nowUs, _lastUs + 1) * 1000; // the time the line will carry
            var got = _atomic!.Alloc(size, GfpFlags.Atomic, null, nowNs);
            SyncAtomicChunks();
            if (got is not { } g)
            {
                // dma_alloc_from_pool failed ("DMA pool exhausted"): dma_alloc traces the NULL result, check reports map-failed
                _expected.Add(new ExpectedFinding(Rules.MapFailed, NextLine, null, Encoding.ASCII.GetString(AtomicDev), 0, false));
                AllocLine(_atomicIrq, cpu, Flags.Hardirq[0], AtomicDev, 0, size, 0, "GFP_ATOMIC"u8, managed: false);
                continue;
            }
            var (phys, _) = _atomicChunks[(int)g.Zone][g.Chunk];
            ulong dma = phys + g.Offset, virt = HashedPointer();
            AllocLine(_atomicIrq, cpu, Flags.Hardirq[0], AtomicDev, dma, size, virt, "GFP_ATOMIC"u8, managed: false);
            _atomicLive.Add((g.Zone, g.Chunk, g.Offset, size, dma, virt));
        }
        return true;
    }

    /// <summary>Physical memory behind each atomic pool chunk the emulation added (initial pools and the worker's growth).</summary>
    private void SyncAtomicChunks()
    {
        for (int z = 0; z < 3; z++)
        {
            var pool = _atomic!.Pool((AtomicZone)z);
            if (pool is null) continue;
            while (_atomicChunks[z].Count < pool.Chunks)
            {
                ulong bytes = pool.Chunks == _atomicChunks[z].Count + 1 ? pool.Size - pool.ChunkBase(_atomicChunks[z].Count) : pool.ChunkBase(_atomicChunks[z].Count + 1) - pool.ChunkBase(_atomicChunks[z].Count);
                int pages = (int)(bytes >> PhysPageAllocator.PageShift);
                _atomicChunks[z].Add((_low.Alloc(pages, pages), pages));
            }
        }
    }

    // --- faults ----------------------------------------------------------------------------------

    private bool InjectPoolFault(string rule)
    {
        var t = _buggy;
        int cpu = Cpu();
        var dev = FaultDev;
        const string name = "synth fault pool";
        switch (rule)
        {
            case Rules.PoolDoubleFree:
            {
                if (!HasRoom(7)) return false;
                PoolCreateLine(t, cpu, dev, 64, 64, 0, name);
                var (page, pv, block, bv) = FaultBlock(t, cpu, name);
                long first = NextLine;
                PoolFreeLine(t, cpu, dev, block, bv, name);
                Expect(rule, NextLine, first, dev, block);
                PoolFreeLine(t, cpu, dev, block, bv, name);
                PoolDestroyLine(t, cpu, dev, name);
                FreeLine(t, cpu, dev, page, 4096, pv, managed: false);
                _low.Free(page, 1);
                return true;
            }
            case Rules.PoolDestroyBusy:
            {
                if (!HasRoom(4)) return false;
                PoolCreateLine(t, cpu, dev, 64, 64, 0, name);
                long allocLine = NextLine + 1;
                var (_, _, block, _) = FaultBlock(t, cpu, name);
                Expect(rule, NextLine, allocLine, dev, 0);
                PoolDestroyLine(t, cpu, dev, name); // busy: the page stays allocated (leak-at-end)
                return true;
            }
            case Rules.PoolFreeForeign when _poolFaults++ % 2 == 0:
            {
                if (!HasRoom(9)) return false;
                const string other = "synth other pool";
                PoolCreateLine(t, cpu, dev, 64, 64, 0, name);
                PoolCreateLine(t, cpu, dev, 128, 64, 0, other);
                long allocLine = NextLine + 1;
                var (page, pv, block, bv) = FaultBlock(t, cpu, name);
                Expect(rule, NextLine, allocLine, dev, block);
                PoolFreeLine(t, cpu, dev, block, bv, other);
                PoolFreeLine(t, cpu, dev, block, bv, name);
                PoolDestroyLine(t, cpu, dev, name);
                FreeLine(t, cpu, dev, page, 4096, pv, managed: false);
                _low.Free(page, 1);
                PoolDestroyLine(t, cpu, dev, other);
                return true;
            }
            case Rules.PoolFreeForeign:
            {
                if (!HasRoom(7)) return false;
                PoolCreateLine(t, cpu, dev, 64, 64, 0, name);
                var (page, pv, block, bv) = FaultBlock(t, cpu, name);
                PoolFreeLine(t, cpu, dev, block, bv, name);
                long destroyLine = NextLine;
                PoolDestroyLine(t, cpu, dev, name);
                FreeLine(t, cpu, dev, page, 4096, pv, managed: false);
                _low.Free(page, 1);
                Expect(rule, NextLine, destroyLine, dev, block);
                PoolFreeLine(t, cpu, dev, block, bv, name); // after dma_pool_destroy
                return true;
            }
            case Rules.LeakAtUnbind:
            {
                if (!HasRoom(4)) return false;
                dev = UnbindDev;
                ulong m = _low.Alloc(1), mv = HashedPointer();
                AllocLine(t, cpu, Flags.Process, dev, m, 4096, mv, "GFP_KERNEL"u8, managed: true);
                ulong c = _low.Alloc(1), cv = HashedPointer();
                long allocLine = NextLine;
                AllocLine(t, cpu, Flags.Process, dev, c, 4096, cv, "GFP_KERNEL"u8, managed: false);
                ulong s = _low.Alloc(1);
                long mapLine = NextLine;
                MapPage(t, cpu, Flags.Process, dev, DmaDirection.FromDevice, s, 4096, s);
                Expect(rule, NextLine, allocLine, dev, c);
                Expect(rule, NextLine, mapLine, dev, s);
                UnbindLine(t, cpu, dev, "synth_drv"u8);
                LedgerRelease(dev, m); // devres frees the managed one
                LedgerRelease(dev, c); // reported at unbind, not again at the end
                LedgerRelease(dev, s);
                _low.Free(m, 1);
                return true;
            }
        }
        return false;
    }

    /// <summary>A page for the fault pool (64-byte blocks) and its first block, which dma_pool_alloc returns at offset 0.</summary>
    private (ulong Page, ulong PageVirt, ulong Block, ulong BlockVirt) FaultBlock(SynthTask t, int cpu, string name)
    {
        ulong page = _low.Alloc(1), pv = HashedPointer(), bv = HashedPointer();
        AllocLine(t, cpu, Flags.Process, FaultDev, page, 4096, pv, "GFP_KERNEL"u8, managed: false);
        PoolAllocLine(t, cpu, FaultDev, page, bv, "GFP_KERNEL"u8, name);
        return (page, pv, page, bv);
    }

    // --- lines (docs/synthetic-format.md) ------------------------------------------------------------

    private bool DmaReplayLine(SynthTask t, int cpu, ReadOnlySpan<byte> flags, DmaEventKind kind, ReadOnlySpan<byte> dev)
    {
        if (!Begin(t, cpu, flags, Encoding.ASCII.GetBytes(kind.Name()))) return false;
        _report.CountEvent(kind);
        _w.Raw(dev);
        return true;
    }

    // "%s size=%zu align=%zu boundary=%zu pool=%s"
    private bool PoolCreateLine(SynthTask t, int cpu, ReadOnlySpan<byte> dev, ulong size, ulong align, ulong boundary, string pool)
    {
        if (!DmaReplayLine(t, cpu, Flags.Process, DmaEventKind.DmaPoolCreate, dev)) return false;
        _w.Raw(" size="u8); _w.Dec(size);
        _w.Raw(" align="u8); _w.Dec(align);
        _w.Raw(" boundary="u8); _w.Dec(boundary);
        PoolName(pool);
        return true;
    }

    // "%s pool=%s"
    private bool PoolDestroyLine(SynthTask t, int cpu, ReadOnlySpan<byte> dev, string pool)
    {
        if (!DmaReplayLine(t, cpu, Flags.Process, DmaEventKind.DmaPoolDestroy, dev)) return false;
        PoolName(pool);
        return true;
    }

    // "%s dma_addr=%llx virt_addr=%p flags=%s pool=%s"
    private bool PoolAllocLine(SynthTask t, int cpu, ReadOnlySpan<byte> dev, ulong dma, ulong virt, ReadOnlySpan<byte> gfp, string pool)
    {
        if (!DmaReplayLine(t, cpu, Flags.Process, DmaEventKind.DmaPoolAlloc, dev)) return false;
        _w.Raw(" dma_addr="u8); _w.Hex(dma);
        _w.Raw(" virt_addr="u8); _w.Hex16(virt);
        _w.Raw(" flags="u8); _w.Raw(gfp);
        PoolName(pool);
        return true;
    }

    // "%s dma_addr=%llx virt_addr=%p pool=%s"
    private bool PoolFreeLine(SynthTask t, int cpu, ReadOnlySpan<byte> dev, ulong dma, ulong virt, string pool)
    {
        if (!DmaReplayLine(t, cpu, Flags.Process, DmaEventKind.DmaPoolFree, dev)) return false;
        _w.Raw(" dma_addr="u8); _w.Hex(dma);
        _w.Raw(" virt_addr="u8); _w.Hex16(virt);
        PoolName(pool);
        return true;
    }

    private void PoolName(string pool)
    {
        _w.Raw(" pool="u8);
        _w.Raw(Encoding.ASCII.GetBytes(pool));
        _w.End();
    }

    // "%s driver=%s"
    private bool UnbindLine(SynthTask t, int cpu, ReadOnlySpan<byte> dev, ReadOnlySpan<byte> driver)
    {
        if (!DmaReplayLine(t, cpu, Flags.Process, DmaEventKind.DeviceUnbind, dev)) return false;
        _w.Raw(" driver="u8);
        _w.Raw(driver);
        _w.End();
        return true;
    }

    // dma_alloc with its gfp flags and, for dmam_alloc_coherent, the word "managed" before attrs=.
    private bool AllocLine(SynthTask t, int cpu, ReadOnlySpan<byte> flags, ReadOnlySpan<byte> dev, ulong dma, ulong size, ulong virt, ReadOnlySpan<byte> gfp, bool managed)
    {
        if (!Begin(t, cpu, flags, DmaEventKind.DmaAlloc, dev)) return false;
        Dir(DmaDirection.Bidirectional);
        DmaAddrSize(dma, size);
        _w.Raw(" virt_addr="u8);
        _w.Hex16(virt);
        _w.Raw(" flags="u8);
        _w.Raw(gfp);
        _w.Raw(managed ? " managed attrs="u8 : " attrs="u8);
        _w.End();
        if (dma != 0 || virt != 0) LedgerMap(dev, dma);
        return true;
    }

    private bool FreeLine(SynthTask t, int cpu, ReadOnlySpan<byte> dev, ulong dma, ulong size, ulong virt, bool managed)
    {
        if (!Begin(t, cpu, Flags.Process, DmaEventKind.DmaFree, dev)) return false;
        Dir(DmaDirection.Bidirectional);
        DmaAddrSize(dma, size);
        _w.Raw(" virt_addr="u8);
        _w.Hex16(virt);
        _w.Raw(managed ? " managed attrs="u8 : " attrs="u8);
        _w.End();
        LedgerRelease(dev, dma);
        return true;
    }
}

/// <summary>Extra workloads of a synthetic trace (none by default).</summary>
[Flags]
public enum SynthWorkloads
{
    None = 0,
    /// <summary>An xHCI controller allocating and freeing dma_pool blocks (two pools, one with a boundary).</summary>
    Pools = 1,
    /// <summary>The xHCI driver removed near the end: blocks freed, pools destroyed, then device_unbind (managed memory released by devres).</summary>
    Unbind = 2,
    /// <summary>GFP_ATOMIC coherent allocations in bursts on an encrypted guest: atomic pool pressure and exhaustion.</summary>
    AtomicPressure = 4,
    /// <summary>
    /// Instead of the x86 devices, the arm64 SoC's Ethernet and SD/MMC host of the non-coherent
    /// workload (<see cref="SynthOptions.NonCoherent"/>, which is what the generator reads).
    /// </summary>
    NonCoherent = 8,
    /// <summary>A GPU-like driver's two rings: dma_fence lifecycles (init, emit, waits, signaled, destroy), all correct.</summary>
    Fences = 16,
}
