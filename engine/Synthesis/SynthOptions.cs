using System.Globalization;

namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// What a synthetic trace looks like. The same options always give the same bytes: every random
/// choice comes from one <see cref="System.Random"/> seeded with <see cref="Seed"/>.
/// </summary>
/// <remarks>
/// The traffic is correct DMA API use on a dma-direct machine (no IOMMU, 8 GiB RAM, the default
/// 64 MiB SWIOTLB pool below 4 GiB), unless <see cref="Injections"/> asks for misuse.
/// </remarks>
public sealed record SynthOptions
{
    /// <summary>Event lines to write (the header's entries-in-buffer/entries-written).</summary>
    public long Events { get; init; } = 100_000;

    public int Seed { get; init; } = 1;

    /// <summary>How new work is shared among the devices.</summary>
    public DeviceMix Devices { get; init; } = DeviceMix.Default;

    /// <summary>CPUs of the traced machine (the header's #P).</summary>
    public int Cpus { get; init; } = 2;

    /// <summary>
    /// Fraction of virtio-net transmit buffers that lie above its 32-bit DMA mask, so dma-direct
    /// bounces them through SWIOTLB (a <c>swiotlb_bounced ... NORMAL</c> line before the map).
    /// </summary>
    public double BounceFraction { get; init; } = 0.02;

    /// <summary>Event lines per workload phase; a <c>tracing_mark_write</c> marker starts each.</summary>
    public long PhaseEvents { get; init; } = 25_000;

    /// <summary>
    /// Misuse to inject, by rule id, with its rate: the chance at each new operation that one such
    /// fault is written (for leak-growth: the chance that an NVMe completion never unmaps).
    /// </summary>
    public IReadOnlyDictionary<string, double> Injections { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// The non-coherent workload (<see cref="NonCoherentSynthesizer"/>): an arm64 SoC's Ethernet and
    /// SD/MMC host instead of the x86 NVMe and NICs; only cacheline-overlap can be injected.
    /// </summary>
    public bool NonCoherent { get; init; }

    /// <summary>Extra workloads: dma_pool traffic, a driver unbind, atomic pool pressure, GPU dma_fences (none by default).</summary>
    public SynthWorkloads Workloads { get; init; }

    /// <summary>Parses "pools,unbind,atomic,fences".</summary>
    public static bool TryParseWorkloads(string text, out SynthWorkloads workloads, out string? error)
    {
        workloads = SynthWorkloads.None;
        error = null;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            switch (part)
            {
                case "pools": workloads |= SynthWorkloads.Pools; break;
                case "unbind": workloads |= SynthWorkloads.Unbind; break;
                case "atomic": workloads |= SynthWorkloads.AtomicPressure; break;
                case "noncoherent": workloads |= SynthWorkloads.NonCoherent; break;
                case "fences": workloads |= SynthWorkloads.Fences; break;
                default:
                    error = $"unknown workload '{part}' (known: pools, unbind, atomic, fences, noncoherent)";
                    return false;
            }
        }
        return true;
    }

    /// <summary>Build a <see cref="SynthManifest"/> of every finding `check` must report.</summary>
    public bool Manifest { get; init; }

    /// <summary>Parses "double-unmap=0.01,leak-growth=0.2".</summary>
    public static bool TryParseInjections(string text, out Dictionary<string, double> injections, out string? error)
    {
        injections = new Dictionary<string, double>();
        error = null;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || !double.TryParse(part[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double rate))
            {
                error = $"expected rule=rate, got '{part}'";
                return false;
            }
            injections[part[..eq]] = rate;
        }
        return true;
    }

    /// <summary>Why these options cannot be used, or null when they can.</summary>
    public string? Validate()
    {
        foreach (var (rule, rate) in Injections)
        {
            if (!TraceSynthesizer.Injectable.Contains(rule))
                return $"cannot inject '{rule}' (injectable: {string.Join(", ", TraceSynthesizer.Injectable)})";
            if (rate is < 0 or > 1 || double.IsNaN(rate)) return $"the rate of {rule} must be between 0 and 1";
            if (NonCoherent && rule != Checks.Rules.CachelineOverlap) return $"the non-coherent workload injects only {Checks.Rules.CachelineOverlap}, not '{rule}'";
        }
        if (NonCoherent && Workloads != SynthWorkloads.None) return "the non-coherent workload replaces the x86 devices; it does not combine with pools, unbind, atomic or fences";
        if (Events < 0) return "events must not be negative";
        if (Cpus is < 1 or > 999) return "cpus must be between 1 and 999";
        if (BounceFraction is < 0 or > 1 || double.IsNaN(BounceFraction)) return "bounce fraction must be between 0 and 1";
        if (PhaseEvents < 1) return "phase length must be at least 1 event";
        return Devices.Validate();
    }
}

/// <summary>Relative weights of new work per device (they need not sum to 1).</summary>
/// <param name="Nvme">NVMe 0000:00:02.0: block I/O as dma_map_page and dma_map_sg.</param>
/// <param name="Nic">e1000e 0000:00:03.0: receive ring refills and transmit maps.</param>
/// <param name="VirtioNet">virtio-net 0000:00:04.0: receive ring refills and transmit maps, some bounced.</param>
public sealed record DeviceMix(double Nvme, double Nic, double VirtioNet)
{
    public static DeviceMix Default { get; } = new(0.55, 0.30, 0.15);

    public string? Validate()
    {
        double[] w = [Nvme, Nic, VirtioNet];
        if (w.Any(x => x < 0 || double.IsNaN(x) || double.IsInfinity(x))) return "device weights must be finite and not negative";
        if (w.Sum() <= 0) return "at least one device weight must be positive";
        return null;
    }

    /// <summary>"nvme=0.5,nic=0.3,virtio=0.2"; devices not named get weight 0.</summary>
    public static bool TryParse(string text, out DeviceMix mix, out string? error)
    {
        mix = Default;
        error = null;
        double nvme = 0, nic = 0, virtio = 0;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0 || !double.TryParse(part[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            {
                error = $"expected name=weight, got '{part}'";
                return false;
            }
            switch (part[..eq])
            {
                case "nvme": nvme = v; break;
                case "nic": nic = v; break;
                case "virtio": virtio = v; break;
                default:
                    error = $"unknown device '{part[..eq]}' (known: nvme, nic, virtio)";
                    return false;
            }
        }
        mix = new DeviceMix(nvme, nic, virtio);
        error = mix.Validate();
        return error is null;
    }
}
