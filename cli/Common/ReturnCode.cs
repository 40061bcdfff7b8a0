namespace DmaReplay.Cli.Common;

/// <summary>
/// Process exit codes, so CI can tell "the trace shows misuse" from "the tool could not run".
/// </summary>
public enum ReturnCode
{
    Ok = 0,
    /// <summary>Findings at or above the --fail-on severity.</summary>
    FindingsFound = 1,
    /// <summary>Bad command line, or an input that cannot be opened or read.</summary>
    UsageOrInputError = 2,
}
