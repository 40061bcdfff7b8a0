using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DmaReplay.Parsers.Model;

/// <summary>
/// A direct-mapped cache in front of a <see cref="Utf8InternTable"/> for names that fit in 16
/// bytes, keyed by those bytes as one vector: a hit is one vector compare instead of hashing the
/// name and comparing it byte by byte. The reader names a task and a device on every event line,
/// and a trace has few of either. The caller chooses the slot (the pid for a task, a hash for a
/// device) and builds a key from which the name follows; a miss interns the name, so ids are
/// still handed out by the table in first-seen order.
/// </summary>
internal sealed class ShortNameCache
{
    private readonly Utf8InternTable _table;
    private readonly Slot[] _slots;

    private struct Slot
    {
        public Vector128<byte> Key;
        public int IdPlusOne; // 0: empty
    }

    /// <param name="size">Slots, a power of two.</param>
    public ShortNameCache(Utf8InternTable table, int size)
    {
        if (size <= 0 || (size & (size - 1)) != 0) throw new ArgumentOutOfRangeException(nameof(size), "a power of two");
        _table = table;
        _slots = new Slot[size];
    }

    /// <summary>The interned id of <paramref name="name"/>, which <paramref name="key"/> must determine.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Intern(int slot, Vector128<byte> key, ReadOnlySpan<byte> name)
    {
        ref var s = ref _slots[slot & (_slots.Length - 1)];
        if (s.IdPlusOne != 0 && s.Key == key) return s.IdPlusOne - 1;
        return Miss(ref s, key, name);
    }

    private int Miss(ref Slot s, Vector128<byte> key, ReadOnlySpan<byte> name)
    {
        int id = _table.Intern(name);
        s.Key = key;
        s.IdPlusOne = id + 1;
        return id;
    }

    /// <summary>A slot index from all 16 bytes of a key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hash(Vector128<byte> key)
    {
        const ulong K = 0x9E3779B97F4A7C15;
        var words = key.AsUInt64();
        return (int)(((words.GetElement(0) * K) ^ words.GetElement(1)) * K >> 40);
    }
}
