using DmaReplay.Cli;

namespace DmaReplay.Tests.Support;

/// <summary>Runs the command line as the process would, with its output captured.</summary>
internal static class CliHarness
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = DmaReplayCommandLine.Invoke(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>A new empty folder under the temp folder.</summary>
    public static string NewDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "dmareplay-tests", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(d);
        return d;
    }
}
