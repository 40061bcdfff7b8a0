using System.Text;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Parsers.Ftrace;

/// <summary>Maps a printed event name to its <see cref="DmaEventKind"/> without allocating.</summary>
internal static class EventNames
{
    /// <summary>
    /// The names grouped by length: a lookup compares the few names of the right length (at most
    /// four, the same first bytes rejected after one 8-byte compare) instead of hashing the name.
    /// </summary>
    private static readonly (byte[] Name, int Kind)[][] ByLength = Build();

    private static (byte[] Name, int Kind)[][] Build()
    {
        var names = Enumerable.Range(0, DmaEventKinds.Count)
            .Select(k => (Name: Encoding.ASCII.GetBytes(((DmaEventKind)k).Name()), Kind: k)).ToList();
        var table = new (byte[], int)[names.Max(n => n.Name.Length) + 1][];
        for (int len = 0; len < table.Length; len++) table[len] = names.Where(n => n.Name.Length == len).ToArray();
        return table;
    }

    /// <summary>The kind as an int, or -1 for an event of another system.</summary>
    public static int Find(ReadOnlySpan<byte> name)
    {
        if ((uint)name.Length >= (uint)ByLength.Length) return -1;
        foreach (var (candidate, kind) in ByLength[name.Length])
        {
            if (name.SequenceEqual(candidate)) return kind;
        }
        return -1;
    }
}
