using System.CommandLine;
using DmaReplay.Cli.Commands;
using DmaReplay.Cli.Common;

namespace DmaReplay.Cli;

/// <summary>The root command and the one place argv is turned into an exit code.</summary>
public static class DmaReplayCommandLine
{
    public static RootCommand CreateRoot() =>
        new("DmaReplay: replay Linux DMA traces against an emulation of the kernel's DMA mapping stack.")
        {
            CheckCommand.Create(),
            ReplayCommand.Create(),
            SynthCommand.Create(),
            ConvertCommand.Create(),
            PlatformCommand.Create(),
            CalibrateCommand.Create(),
        };

    /// <summary>Parses and runs; a command-line error exits with <see cref="ReturnCode.UsageOrInputError"/>, not System.CommandLine's 1.</summary>
    public static int Invoke(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var result = CreateRoot().Parse(args);
        var config = new InvocationConfiguration();
        if (output is not null) config.Output = output;
        if (error is not null) config.Error = error;
        if (result.Errors.Count > 0)
        {
            var err = error ?? Console.Error;
            foreach (var e in result.Errors) err.WriteLine("error: " + e.Message);
            err.WriteLine("Run 'dmareplay --help' for usage.");
            return (int)ReturnCode.UsageOrInputError;
        }
        return result.Invoke(config);
    }
}
