using DmaReplay.Parsers.Model;

namespace DmaReplay.Parsers.Ftrace;

/// <summary>Maps a printed event name to its <see cref="DmaEventKind"/> without allocating.</summary>
internal static class EventNames
{
    private static readonly Utf8InternTable Table = Build();

    private static Utf8InternTable Build()
    {
        var t = new Utf8InternTable();
        for (int k = 0; k < DmaEventKinds.Count; k++) t.Intern(((DmaEventKind)k).Name()); // id == kind
        return t;
    }

    /// <summary>The kind as an int, or -1 for an event of another system.</summary>
    public static int Find(ReadOnlySpan<byte> name) => Table.Find(name);
}
