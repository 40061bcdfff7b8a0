namespace DmaReplay.Tests.Parsers;

/// <summary>The tracefs context prefix for generated test lines.</summary>
internal static class Support
{
    public static string Line(string task, int pid, int cpu, long us) =>
        $"{task,16}-{pid,-7} [{cpu:000}] ..... {us / 1_000_000 + 1,5}.{us % 1_000_000:000000}: ";
}
