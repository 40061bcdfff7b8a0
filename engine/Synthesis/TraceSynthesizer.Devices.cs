using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// The three devices of the synthetic machine, modelled on what the drivers do in the real
/// bundles (README "Kernel and known quirks"): NVMe maps one contiguous segment with
/// dma_map_page and anything else with dma_map_sg (NO_WARN) and unmaps in its completion
/// interrupt; e1000e and virtio-net keep a receive ring of FROM_DEVICE buffers mapped, unmap a
/// buffer when a packet arrives and map a fresh one in its place, and map transmit buffers
/// TO_DEVICE until the transmit completes. virtio-net has a 32-bit DMA mask here, so a transmit
/// buffer above 4 GiB is bounced through SWIOTLB (NORMAL).
/// </summary>
public sealed partial class TraceSynthesizer
{
    private const ulong E1000eRxSize = 1522;  // e1000e: max frame + VLAN
    private const ulong VirtioRxSize = 1536;  // virtio-net: mergeable buffer of a page fragment
    private const ulong VirtioDmaMask = 0xffff_ffff;

    private static readonly int[] SgEntries = [2, 2, 2, 2, 2, 3, 4, 4, 5, 6, 7, 8, 8, 8, 12, 15, 15, 16, 16, 24, 31, 32, 32];
    private static readonly ulong[] LargeSegments = [16384, 65536, 131072, 262144, 524288];
    private static readonly ulong[] FrameSizes = [42, 54, 60, 66, 74, 98, 142, 590, 1066, 1514, 1514, 1514, 1514];

    private int _nvmeInFlight;
    private int _nvmePoolPages;

    private readonly record struct Coherent(ulong Dma, ulong Size, ulong Virt, int Pages);

    // --- probe ------------------------------------------------------------------------------

    /// <summary>nvme_pci_enable/nvme_setup_io_queues: admin queue pair, then one I/O queue pair per CPU.</summary>
    private void ProbeNvme()
    {
        var t = _tasks.NvmeProbe;
        int cpu = Cpu();
        AllocCoherent(t, cpu, Nvme, 512);   // admin CQ: 32 x 16 bytes
        AllocCoherent(t, cpu, Nvme, 2048);  // admin SQ: 32 x 64 bytes
        var queues = new List<Coherent>();
        for (int q = 0; q < _o.Cpus; q++)
        {
            if (AllocCoherent(t, cpu, Nvme, 16384) is { } cq) queues.Add(cq);   // 1024 x 16
            if (AllocCoherent(t, cpu, Nvme, 65536) is { } sq) queues.Add(sq);   // 1024 x 64
        }
        // The controller granted one I/O queue fewer than asked: nvme_free_queues() drops the last pair.
        if (_o.Cpus > 1 && queues.Count == 2 * _o.Cpus)
        {
            for (int i = queues.Count - 1; i >= queues.Count - 2; i--)
            {
                var c = queues[i];
                if (!Free(t, cpu, Nvme, c.Dma, c.Size, c.Virt)) return;
                _low.Free(c.Dma, c.Pages);
            }
        }
    }

    /// <summary>e1000e_open: descriptor rings, then the receive ring filled with mapped buffers.</summary>
    private void ProbeE1000e()
    {
        var t = _tasks.E1000eOpen;
        int cpu = Cpu();
        AllocCoherent(t, cpu, E1000e, 4096);  // tx: 256 x 16
        AllocCoherent(t, cpu, E1000e, 8192);  // rx: 256 x 32
        for (int i = 0; i < RxRingSize; i++)
        {
            if (!RxRefill(e1000e: true, t, cpu, Flags.Process)) return;
        }
    }

    /// <summary>virtnet_probe: the rx, tx and control virtqueues; then ip link up fills the receive queue.</summary>
    private void ProbeVirtioNet()
    {
        int cpu = Cpu();
        AllocCoherent(_tasks.VirtioProbe, cpu, VirtioNet, 6726);
        AllocCoherent(_tasks.VirtioProbe, cpu, VirtioNet, 6726);
        AllocCoherent(_tasks.VirtioProbe, cpu, VirtioNet, 1734);
        cpu = Cpu();
        for (int i = 0; i < RxRingSize; i++)
        {
            if (!RxRefill(e1000e: false, _tasks.VirtioOpen, cpu, Flags.Process)) return;
        }
    }

    /// <summary>dma_alloc_coherent: whole pages of order size, below 4 GiB; null once the budget is spent.</summary>
    private Coherent? AllocCoherent(SynthTask t, int cpu, ReadOnlySpan<byte> dev, ulong size)
    {
        int pages = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)PagesOf(0, size));
        ulong dma = _low.Alloc(pages, pages);
        ulong virt = HashedPointer();
        if (!Alloc(t, cpu, dev, dma, size, virt))
        {
            _low.Free(dma, pages);
            return null;
        }
        return new Coherent(dma, size, virt, pages);
    }

    // --- NVMe ---------------------------------------------------------------------------------

    private void NvmeSubmit()
    {
        bool write = _rng.NextDouble() < 0.35;
        var dir = write ? DmaDirection.ToDevice : DmaDirection.FromDevice;
        var task = write && _rng.NextDouble() < 0.4 ? _tasks.Writeback : Pick(_tasks.Dd);
        int cpu = Cpu();
        var flags = Pick(Flags.Submit);
        long latency = 20 + (long)(-Math.Log(1 - _rng.NextDouble()) * 250);

        // A PRP list page from the dma_pool: the pool takes a new coherent page only when its pages are all in use.
        if (_nvmeInFlight >= _nvmePoolPages * 16)
        {
            if (AllocCoherent(task, cpu, Nvme, 4096) is null) return;
            _nvmePoolPages++;
        }

        double r = _rng.NextDouble();
        if (r < 0.45)
        {
            // One physically contiguous segment: PRP simple path (4 KiB, 8 KiB) or SGL simple path (large folio).
            ulong size = r < 0.25 ? 4096 : r < 0.35 ? 8192 : Pick(LargeSegments);
            int pages = PagesOf(0, size);
            var region = _rng.NextDouble() < 0.75 ? _low : _high;
            ulong phys = region.Alloc(pages, pages);
            if (!MapPage(task, cpu, flags, Nvme, dir, phys, size, phys))
            {
                region.Free(phys, pages);
                return;
            }
            _pending.Enqueue(new Pending(PendingKind.NvmePage, dir, phys, phys, size, -1, 0, task), _nowUs + latency);
        }
        else
        {
            int sg = _sg.Rent();
            int nents = Pick(SgEntries);
            for (int i = 0; i < nents; i++)
            {
                // The block layer merges physically adjacent pages into one entry now and then.
                int pages = _rng.NextDouble() < 0.85 ? 1 : _rng.Next(2, 5);
                var region = _rng.NextDouble() < 0.75 ? _low : _high;
                _sg.Add(sg, region.Alloc(pages), (ulong)pages << PhysPageAllocator.PageShift);
            }
            if (!MapSg(task, cpu, flags, Nvme, dir, sg))
            {
                FreeSg(sg);
                return;
            }
            _pending.Enqueue(new Pending(PendingKind.NvmeSg, dir, 0, 0, 0, sg, 0, task), _nowUs + latency);
        }
        _nvmeInFlight++;
    }

    /// <summary>nvme_irq → nvme_pci_complete_rq → nvme_unmap_data, in the completion interrupt.</summary>
    private void NvmeComplete(in Pending p)
    {
        int cpu = Cpu();
        var task = _rng.NextDouble() < 0.7 ? _tasks.Idle : p.Submitter;
        var flags = Pick(Flags.Hardirq);
        if (LeakThisCompletion())
        {
            _nvmeInFlight--; // the driver forgot the unmap: the mapping stays live to the end
            return;
        }
        if (p.Kind == PendingKind.NvmeSg)
        {
            if (!UnmapSg(task, cpu, flags, Nvme, p.Dir, p.Sg)) return;
            FreeSg(p.Sg);
        }
        else
        {
            if (!UnmapPage(task, cpu, flags, Nvme, p.Dir, p.DmaAddr, p.Size)) return;
            RegionOf(p.PhysAddr).Free(p.PhysAddr, PagesOf(0, p.Size));
        }
        _nvmeInFlight--;
    }

    private void FreeSg(int sg)
    {
        var phys = _sg.Phys(sg);
        var lengths = _sg.Lengths(sg);
        for (int i = 0; i < phys.Length; i++) RegionOf(phys[i]).Free(phys[i], PagesOf(0, lengths[i]));
        _sg.Return(sg);
    }

    // --- NICs ---------------------------------------------------------------------------------

    private void NicWork(bool e1000e)
    {
        if (_rng.NextDouble() < 0.55) RxPoll(e1000e);
        else Xmit(e1000e);
    }

    /// <summary>NAPI poll: unmap the buffers that received packets, then refill the ring (e1000_clean_rx_irq / virtnet_receive).</summary>
    private void RxPoll(bool e1000e)
    {
        var ring = e1000e ? _e1000eRx : _virtioRx;
        var dev = e1000e ? E1000e : VirtioNet;
        ulong size = e1000e ? E1000eRxSize : VirtioRxSize;
        int cpu = Cpu();
        var task = _rng.NextDouble() < 0.8 ? _tasks.Idle : _tasks.Ksoftirqd[cpu];
        int packets = _rng.Next(1, 9);
        int done = 0;
        for (; done < packets && ring.TryPeek(out ulong addr); done++)
        {
            if (!UnmapPage(task, cpu, Pick(Flags.Softirq), dev, DmaDirection.FromDevice, addr, size)) return;
            ring.Dequeue();
            ulong page = addr & ~(PhysPageAllocator.PageSize - 1);
            RegionOf(page).Free(page, 1);
        }
        for (int i = 0; i < done; i++)
        {
            if (!RxRefill(e1000e, task, cpu, Pick(Flags.Softirq))) return;
        }
    }

    /// <summary>Maps one new receive buffer FROM_DEVICE and posts it at the ring's tail.</summary>
    private bool RxRefill(bool e1000e, SynthTask task, int cpu, ReadOnlySpan<byte> flags)
    {
        // e1000e (64-bit mask) takes any page; virtio-net's 32-bit mask keeps its buffers low.
        var region = e1000e && _rng.NextDouble() < 0.2 ? _high : _low;
        ulong page = region.Alloc(1);
        ulong addr = page + (e1000e ? (_rng.Next(0, 2) == 0 ? 0x040UL : 0x840UL) : (_rng.Next(0, 2) == 0 ? 0UL : 0x600UL));
        ulong size = e1000e ? E1000eRxSize : VirtioRxSize;
        if (!MapPage(task, cpu, flags, e1000e ? E1000e : VirtioNet, DmaDirection.FromDevice, addr, size, addr))
        {
            region.Free(page, 1);
            return false;
        }
        (e1000e ? _e1000eRx : _virtioRx).Enqueue(addr);
        return true;
    }

    /// <summary>ndo_start_xmit: the frame is mapped TO_DEVICE until the transmit completes.</summary>
    private void Xmit(bool e1000e)
    {
        var task = Pick(_tasks.Net);
        int cpu = Cpu();
        var flags = Pick(Flags.Xmit);
        ulong size = Pick(FrameSizes) + (e1000e ? 0UL : 12UL); // virtio-net prepends its 12-byte header
        ulong offset = 2 + 0x40UL * (ulong)_rng.Next(0, (int)((PhysPageAllocator.PageSize - 2 - size) / 0x40) + 1);
        var dev = e1000e ? E1000e : VirtioNet;
        long completion = _nowUs + 15 + (long)(-Math.Log(1 - _rng.NextDouble()) * (e1000e ? 120 : 250));

        if (!e1000e && _rng.NextDouble() < _o.BounceFraction && HasRoom(2))
        {
            // Above the 32-bit mask: dma-direct's dma_capable() fails and swiotlb_map() bounces.
            ulong page = _high.Alloc(1);
            ulong phys = page + offset;
            ulong bounce = _swiotlb.Alloc(size, out int slots);
            Bounced(task, cpu, flags, dev, VirtioDmaMask, phys, size);
            MapPage(task, cpu, flags, dev, DmaDirection.ToDevice, bounce, size, phys);
            _pending.Enqueue(new Pending(PendingKind.VirtioTx, DmaDirection.ToDevice, bounce, phys, size, -1, slots, task), completion);
            return;
        }
        var region = e1000e && _rng.NextDouble() < 0.2 ? _high : _low;
        ulong p = region.Alloc(1) + offset;
        if (!MapPage(task, cpu, flags, dev, DmaDirection.ToDevice, p, size, p))
        {
            region.Free(p - offset, 1);
            return;
        }
        _pending.Enqueue(new Pending(e1000e ? PendingKind.E1000eTx : PendingKind.VirtioTx, DmaDirection.ToDevice, p, p, size, -1, 0, task), completion);
    }

    /// <summary>Transmit clean-up: e1000_clean_tx_irq in NAPI or the interrupt; virtio-net's free_old_xmit.</summary>
    private void TxComplete(in Pending p)
    {
        bool e1000e = p.Kind == PendingKind.E1000eTx;
        int cpu = Cpu();
        SynthTask task;
        ReadOnlySpan<byte> flags;
        if (e1000e)
        {
            task = _rng.NextDouble() < 0.85 ? _tasks.Idle : _tasks.Ksoftirqd[cpu];
            flags = _rng.NextDouble() < 0.8 ? Pick(Flags.Softirq) : Pick(Flags.Hardirq);
        }
        else
        {
            bool inXmit = _rng.NextDouble() < 0.4; // freed by the next start_xmit of the same sender
            task = inXmit ? p.Submitter : _tasks.Idle;
            flags = inXmit ? Pick(Flags.Xmit) : Pick(Flags.Softirq);
        }
        if (!UnmapPage(task, cpu, flags, e1000e ? E1000e : VirtioNet, p.Dir, p.DmaAddr, p.Size)) return;
        ulong page = p.PhysAddr & ~(PhysPageAllocator.PageSize - 1);
        RegionOf(page).Free(page, 1);
        if (p.BounceSlots > 0) _swiotlb.Free(p.DmaAddr, p.BounceSlots);
    }

    /// <summary>Latency columns (irqs-off, need-resched, hardirq/softirq, preempt, migrate), weighted by repetition as seen in the real bundles.</summary>
    private static class Flags
    {
        public static ReadOnlySpan<byte> Process => "....."u8;
        public static readonly byte[][] Submit = [.. Repeat("....."u8, 12), ".N..."u8.ToArray()];
        public static readonly byte[][] Softirq = [.. Repeat("..s1."u8, 12), ".Ns1."u8.ToArray(), "..s2."u8.ToArray(), "..s.."u8.ToArray()];
        public static readonly byte[][] Hardirq = [.. Repeat("d.h1."u8, 10), "d.h.."u8.ToArray(), "d.H1."u8.ToArray(), "D.h1."u8.ToArray()];
        public static readonly byte[][] Xmit = [.. Repeat("b..1."u8, 6), "b.s3."u8.ToArray(), "b..2."u8.ToArray(), "bNs3."u8.ToArray()];

        private static byte[][] Repeat(ReadOnlySpan<byte> flags, int n)
        {
            var a = new byte[n][];
            for (int i = 0; i < n; i++) a[i] = flags.ToArray();
            return a;
        }
    }

    /// <summary>The tasks that appear in the trace; comms and pids as in the real captures.</summary>
    private sealed class Tasks
    {
        public Tasks(int cpus)
        {
            Ksoftirqd = new SynthTask[cpus];
            for (int c = 0; c < cpus; c++) Ksoftirqd[c] = new SynthTask($"ksoftirqd/{c}", 14 + 8 * c);
        }

        public SynthTask Init { get; } = new("init", 1);
        public SynthTask Idle { get; } = new("<idle>", 0);
        public SynthTask NvmeProbe { get; } = new("kworker/u8:0", 12);
        public SynthTask Writeback { get; } = new("kworker/u8:1", 31);
        public SynthTask E1000eOpen { get; } = new("ip", 232);
        public SynthTask VirtioProbe { get; } = new("insmod", 227);
        public SynthTask VirtioOpen { get; } = new("ip", 239);
        public SynthTask[] Dd { get; } = [new("dd", 288), new("dd", 298), new("dd", 308), new("dd", 318), new("dd", 328)];
        public SynthTask[] Net { get; } = [new("wget", 462), new("wget", 417), new("ping", 407), new("kworker/u8:3", 118)];
        public SynthTask[] Ksoftirqd { get; }
    }
}
