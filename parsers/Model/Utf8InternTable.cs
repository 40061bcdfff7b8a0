using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace DmaReplay.Parsers.Model;

/// <summary>
/// Interns UTF-8 byte spans to dense integer ids. A lookup of a name seen before allocates
/// nothing, so readers can name devices, tasks and functions per event on the hot path; only
/// the first sight of a new name allocates its string.
/// </summary>
/// <remarks>Open addressing with linear probing over a word-at-a-time hash; not thread-safe.</remarks>
public sealed class Utf8InternTable
{
    private int[] _slots = new int[256]; // id + 1; 0 = empty
    private int[] _hashes = new int[256];
    private readonly List<byte[]> _bytes = [];
    private readonly List<string> _strings = [];

    public int Count => _strings.Count;

    /// <summary>The string for an id returned by <see cref="Intern"/>.</summary>
    public string this[int id] => _strings[id];

    public IReadOnlyList<string> Strings => _strings;

    /// <summary>The bytes an id was interned from (for writers that copy names without encoding them again).</summary>
    public ReadOnlySpan<byte> Utf8(int id) => _bytes[id];

    public int Intern(string s) => Intern(Encoding.UTF8.GetBytes(s));

    public int Intern(ReadOnlySpan<byte> name)
    {
        int hash = Hash(name);
        int mask = _slots.Length - 1;
        int i = hash & mask;
        while (true)
        {
            int slot = _slots[i];
            if (slot == 0) break;
            if (_hashes[i] == hash && name.SequenceEqual(_bytes[slot - 1])) return slot - 1;
            i = (i + 1) & mask;
        }
        int id = _strings.Count;
        _bytes.Add(name.ToArray());
        _strings.Add(Encoding.UTF8.GetString(name));
        _slots[i] = id + 1;
        _hashes[i] = hash;
        if (_strings.Count * 2 > _slots.Length) Grow();
        return id;
    }

    /// <summary>Looks a name up without adding it; -1 when unknown.</summary>
    public int Find(ReadOnlySpan<byte> name)
    {
        int hash = Hash(name);
        int mask = _slots.Length - 1;
        for (int i = hash & mask; ; i = (i + 1) & mask)
        {
            int slot = _slots[i];
            if (slot == 0) return -1;
            if (_hashes[i] == hash && name.SequenceEqual(_bytes[slot - 1])) return slot - 1;
        }
    }

    private void Grow()
    {
        var slots = new int[_slots.Length * 2];
        var hashes = new int[slots.Length];
        int mask = slots.Length - 1;
        for (int j = 0; j < _slots.Length; j++)
        {
            if (_slots[j] == 0) continue;
            int i = _hashes[j] & mask;
            while (slots[i] != 0) i = (i + 1) & mask;
            slots[i] = _slots[j];
            hashes[i] = _hashes[j];
        }
        _slots = slots;
        _hashes = hashes;
    }

    /// <summary>
    /// Mixes the name 8 bytes at a time (every event hashes its device and task, so a byte-wise
    /// FNV loop showed up in profiles), then avalanches so the low bits used as the slot index
    /// depend on every byte. Only slot placement depends on the hash: ids are assigned in
    /// first-seen order whatever it is.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ReadOnlySpan<byte> s)
    {
        const ulong K = 0x9E3779B97F4A7C15;
        ulong h = (ulong)s.Length * K;
        if (s.Length >= 8)
        {
            for (int i = 0; i + 8 < s.Length; i += 8) h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(s[i..])) * K;
            h = (h ^ BinaryPrimitives.ReadUInt64LittleEndian(s[^8..])) * K; // the last 8 bytes, overlapping the loop's
        }
        else if (s.Length >= 4)
        {
            ulong words = BinaryPrimitives.ReadUInt32LittleEndian(s) | (ulong)BinaryPrimitives.ReadUInt32LittleEndian(s[^4..]) << 32;
            h = (h ^ words) * K;
        }
        else
        {
            ulong tail = 0;
            foreach (byte b in s) tail = (tail << 8) | b;
            h = (h ^ tail) * K;
        }
        h ^= h >> 32;
        h *= K;
        h ^= h >> 29;
        return (int)h;
    }
}
