using System.CommandLine;
using System.Text.Json;
using DmaReplay.Cli.Common;
using DmaReplay.Engine.Platform;

namespace DmaReplay.Cli.Commands;

/// <summary><c>dmareplay platform snapshot|show</c>: write the running machine's platform file, or print any platform as JSON.</summary>
internal static class PlatformCommand
{
    public static Command Create() =>
        new("platform", "Platform files: the machine facts (RAM, CPUs, SWIOTLB pool, devices and their DMA parameters) a replay runs on.")
        {
            CreateSnapshot(),
            CreateShow(),
        };

    private static Command CreateSnapshot()
    {
        var output = new Option<string>("--output", "-o")
        {
            Description = "Platform file to write (- for standard output).",
            Required = true,
        };
        var root = new Option<string>("--root")
        {
            Description = "Read /proc, /sys and /var/log under this folder instead of / (a copied or fake tree).",
            DefaultValueFactory = _ => "/",
        };
        var command = new Command("snapshot", "Read this Linux machine's platform (/proc/iomem, /proc/cmdline, /sys/bus/pci, IOMMU groups, SWIOTLB debugfs) into a platform file. Run as root for RAM ranges and the SWIOTLB size.")
        {
            output, root,
        };
        command.SetAction(pr => RunSnapshot(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(output)!, pr.GetValue(root)!));
        return command;
    }

    private static Command CreateShow()
    {
        var source = new Argument<string>("source")
        {
            Description = "A capture bundle folder, a platform file, or a preset (" + PlatformPresets.Names + ").",
        };
        var set = new Option<string[]>("--set")
        {
            Description = "Override a platform fact, key=value (repeatable), e.g. swiotlb.nslabs=2048 or device.0000:00:02.0.dma_mask=32.",
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("show", "Print a platform as a platform file (JSON) to standard output, to read or edit.")
        {
            source, set,
        };
        command.SetAction(pr => RunShow(pr.InvocationConfiguration.Output, pr.InvocationConfiguration.Error, pr.GetValue(source)!, pr.GetValue(set) ?? []));
        return command;
    }

    public static int RunSnapshot(TextWriter stdout, TextWriter stderr, string output, string root)
    {
        if (!Directory.Exists(root))
        {
            stderr.WriteLine($"error: --root: no folder '{root}'");
            return (int)ReturnCode.UsageOrInputError;
        }
        var snapshot = PlatformSnapshot.Take(root);
        var messages = stdout;
        try
        {
            if (output == "-")
            {
                stdout.Write(PlatformJson.ToJson(snapshot.Platform));
                messages = stderr; // the platform file owns standard output
            }
            else
            {
                PlatformJson.Write(snapshot.Platform, output);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: cannot write {output}: {ex.Message}");
            return (int)ReturnCode.UsageOrInputError;
        }
        if (output != "-") messages.WriteLine($"wrote {output}");
        foreach (var line in PlatformSummary.Lines(snapshot.Platform)) messages.WriteLine(line);
        if (snapshot.Unread.Count > 0) messages.WriteLine($"not read ({snapshot.Unread.Count}):");
        foreach (var u in snapshot.Unread) messages.WriteLine("  " + u);
        return (int)ReturnCode.Ok;
    }

    public static int RunShow(TextWriter stdout, TextWriter stderr, string source, IReadOnlyList<string> settings)
    {
        try
        {
            stdout.Write(PlatformJson.ToJson(PlatformSource.Load(source, settings)));
            return (int)ReturnCode.Ok;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine("error: " + ex.Message);
            return (int)ReturnCode.UsageOrInputError;
        }
    }
}
