using System.CommandLine;
using System.Globalization;
using DmaReplay.Cli.Common;
using DmaReplay.Engine.Synthesis;

namespace DmaReplay.Cli.Commands;

/// <summary><c>dmareplay synth</c>: write a synthetic Linux 6.12 ftrace text trace of correct DMA traffic.</summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var events = new Option<long>("--events", "-n")
        {
            Description = "Event lines to write (the header's entries-in-buffer).",
            DefaultValueFactory = _ => 100_000,
        };
        var seed = new Option<int>("--seed", "-s")
        {
            Description = "Seed of the random traffic; the same seed gives the same bytes.",
            DefaultValueFactory = _ => 1,
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "File to write (gzip-compressed when it ends in .gz; - for standard output).",
            Required = true,
        };
        var mix = new Option<string?>("--mix")
        {
            Description = "Share of new work per device, e.g. nvme=0.55,nic=0.3,virtio=0.15 (unnamed devices get 0).",
        };
        var cpus = new Option<int>("--cpus")
        {
            Description = "CPUs of the traced machine.",
            DefaultValueFactory = _ => 2,
        };
        var inject = new Option<string?>("--inject")
        {
            Description = "Misuse to inject, rule=rate,... (rate: chance per new operation; leak-growth: chance an NVMe completion never unmaps). " +
                          "Injectable: " + string.Join(", ", TraceSynthesizer.Injectable) + ".",
        };
        var manifest = new Option<string?>("--manifest")
        {
            Description = "Write the manifest (what was injected, and every finding 'check' must report) to this JSON file. " +
                          "Default with --inject: <output>.manifest.json.",
        };
        var workloads = new Option<string?>("--workloads")
        {
            Description = "Extra workloads, comma-separated: pools (an xHCI controller's dma_pool blocks), unbind (its driver removed near the end), " +
                          "atomic (GFP_ATOMIC coherent allocations in bursts on an encrypted guest: atomic pool pressure; the manifest's platform is x86-64-sev-guest), " +
                          "fences (a GPU-like driver's two rings: dma_fence init, emit, waits, signaled in seqno order, destroy; all correct, the fence faults need no workload), " +
                          "noncoherent (instead of the x86 devices, an arm64-noncoherent-soc Ethernet and SD/MMC host: syncs, small bounced buffers; inject cacheline-overlap; check it with --platform arm64-noncoherent-soc).",
        };
        var command = new Command("synth", "Write a synthetic tracefs 'trace' file (Linux 6.12.117 format) of NVMe, e1000e and virtio-net DMA traffic, correct or with injected misuse.")
        {
            events, seed, output, mix, cpus, inject, manifest, workloads,
        };
        command.SetAction(pr => Run(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error,
            pr.GetValue(events), pr.GetValue(seed), pr.GetValue(output)!, pr.GetValue(mix), pr.GetValue(cpus),
            pr.GetValue(inject), pr.GetValue(manifest), pr.GetValue(workloads)));
        return command;
    }

    public static int Run(TextWriter stdout, TextWriter stderr, long events, int seed, string output, string? mix, int cpus,
        string? inject = null, string? manifestPath = null, string? workloadList = null)
    {
        var extra = SynthWorkloads.None;
        if (workloadList is not null && !SynthOptions.TryParseWorkloads(workloadList, out extra, out var workloadError))
        {
            stderr.WriteLine($"error: --workloads: {workloadError}");
            return (int)ReturnCode.UsageOrInputError;
        }
        var devices = DeviceMix.Default;
        if (mix is not null && !DeviceMix.TryParse(mix, out devices, out var mixError))
        {
            stderr.WriteLine($"error: --mix: {mixError}");
            return (int)ReturnCode.UsageOrInputError;
        }
        var injections = new Dictionary<string, double>();
        if (inject is not null && !SynthOptions.TryParseInjections(inject, out injections, out var injectError))
        {
            stderr.WriteLine($"error: --inject: {injectError}");
            return (int)ReturnCode.UsageOrInputError;
        }
        if (manifestPath is null && (injections.Count > 0 || extra != SynthWorkloads.None) && output != "-") manifestPath = output + ".manifest.json";
        var options = new SynthOptions
        {
            Events = events, Seed = seed, Devices = devices, Cpus = cpus, Injections = injections, Manifest = manifestPath is not null,
            NonCoherent = (extra & SynthWorkloads.NonCoherent) != 0, Workloads = extra & ~SynthWorkloads.NonCoherent,
        };
        var invalid = options.Validate();
        if (invalid is not null)
        {
            stderr.WriteLine($"error: {invalid}");
            return (int)ReturnCode.UsageOrInputError;
        }

        SynthReport report = null!;
        var messages = stdout;
        if (output == "-")
        {
            report = TraceSynthesizer.Write(options, stdout);
            messages = stderr; // the trace owns standard output
        }
        else
        {
            try
            {
                OutputFile.Write(output, output.EndsWith(".gz", StringComparison.OrdinalIgnoreCase), stream =>
                {
                    report = TraceSynthesizer.Write(options, stream);
                    return true;
                });
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"error: cannot write {output}: {ex.Message}");
                return (int)ReturnCode.UsageOrInputError;
            }
        }

        var ci = CultureInfo.InvariantCulture;
        if (manifestPath is not null && report.Manifest is { } m)
        {
            try
            {
                using var file = File.Create(manifestPath);
                m.Write(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"error: cannot write {manifestPath}: {ex.Message}");
                return (int)ReturnCode.UsageOrInputError;
            }
            messages.WriteLine(string.Create(ci, $"wrote {manifestPath}: {m.ExpectedFindings.Count:N0} expected findings") +
                (m.Injected.Count > 0 ? ", injected " + string.Join(", ", m.Injected.Select(kv => string.Create(ci, $"{kv.Key} {kv.Value:N0}"))) : ""));
        }
        messages.WriteLine(string.Create(ci, $"wrote {output}: {report.Events:N0} events, {report.Lines:N0} lines, {report.Bytes:N0} bytes of trace text"));
        messages.WriteLine("  " + string.Join(", ", report.ByName().Select(kv => string.Create(ci, $"{kv.Key} {kv.Value:N0}"))));
        return (int)ReturnCode.Ok;
    }
}
