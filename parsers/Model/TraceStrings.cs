namespace DmaReplay.Parsers.Model;

/// <summary>
/// The interned names of one run, shared by every reader and engine component so that ids agree
/// across inputs: devices (dense ids for per-device arrays), tasks, kernel functions of stack
/// traces, and other text (gfp flag strings, fence drivers and timelines, other event names).
/// </summary>
public sealed class TraceStrings
{
    public Utf8InternTable Devices { get; } = new();
    public Utf8InternTable Tasks { get; } = new();
    public Utf8InternTable Functions { get; } = new();
    public Utf8InternTable Text { get; } = new();
    public StackTable Stacks { get; } = new();

    public string Device(int id) => id < 0 ? "" : Devices[id];
    public string Task(int id) => id < 0 ? "" : Tasks[id];
    public string TextOf(int id) => id < 0 ? "" : Text[id];
}
