using System.Runtime.CompilerServices;

namespace DmaReplay.Engine;

/// <summary>
/// A hash map from a 64-bit address to a struct value, for the per-event lookups of the checks
/// and the summary (live mappings, active cache lines). Open addressing with linear probing in
/// one array of key/value slots: a lookup is a multiply, a shift and usually one slot, where
/// <see cref="Dictionary{TKey, TValue}"/> goes through a bucket array, an entry array and the
/// key's equality comparer. Removal shifts the following slots back (no tombstones), so the
/// table never needs cleaning and stays as small as the live keys allow.
/// </summary>
/// <remarks>
/// A reference returned by <see cref="GetValueRefOrAddDefault"/>, <see cref="GetValueRefOrNullRef"/>
/// or <see cref="ValueAt"/>, and a slot returned by <see cref="Find"/>, are valid only until the
/// next add or remove. Iteration order is not defined (nothing
/// depends on it).
/// </remarks>
internal sealed class AddressMap<TValue> where TValue : struct
{
    /// <summary>
    /// The table is kept at most 1/8 full. Probe runs then stay about one slot long, and the
    /// branches of a lookup and of a removal's shifting go the usual way; at half full they
    /// mispredicted often enough to double the cost of an insert and remove (measured).
    /// </summary>
    private const int MaxLoadInverse = 8;

    private Slot[] _slots;
    private int _shift; // 64 - log2(slots)

    private struct Slot
    {
        public ulong Key;
        public bool Used;
        public TValue Value;
    }

    public AddressMap(int capacity = 64)
    {
        int size = 16;
        while (size < capacity * MaxLoadInverse) size *= 2;
        _slots = new Slot[size];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)size);
    }

    public int Count { get; private set; }

    /// <summary>Fibonacci hashing: the multiply spreads nearby addresses (pages, cache lines) over the table.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> _shift);

    /// <summary>The value of <paramref name="key"/>, added as default when absent.</summary>
    public ref TValue GetValueRefOrAddDefault(ulong key, out bool exists)
    {
        if ((Count + 1) * MaxLoadInverse > _slots.Length) Grow();
        var slots = _slots;
        int mask = slots.Length - 1;
        for (int i = Home(key); ; i = (i + 1) & mask)
        {
            ref var s = ref slots[i];
            if (!s.Used)
            {
                s.Used = true;
                s.Key = key;
                s.Value = default;
                Count++;
                exists = false;
                return ref s.Value;
            }
            if (s.Key == key)
            {
                exists = true;
                return ref s.Value;
            }
        }
    }

    /// <summary>The slot holding <paramref name="key"/>, or -1 when absent.</summary>
    public int Find(ulong key)
    {
        var slots = _slots;
        int mask = slots.Length - 1;
        for (int i = Home(key); ; i = (i + 1) & mask)
        {
            if (!slots[i].Used) return -1;
            if (slots[i].Key == key) return i;
        }
    }

    /// <summary>The value in a slot <see cref="Find"/> returned.</summary>
    public ref TValue ValueAt(int slot) => ref _slots[slot].Value;

    /// <summary>The value of <paramref name="key"/>, or a null reference (test with Unsafe.IsNullRef) when absent.</summary>
    public ref TValue GetValueRefOrNullRef(ulong key)
    {
        int i = Find(key);
        return ref i < 0 ? ref Unsafe.NullRef<TValue>() : ref _slots[i].Value;
    }

    /// <summary>Removes <paramref name="key"/>; false when it was absent.</summary>
    public bool Remove(ulong key)
    {
        int i = Find(key);
        if (i < 0) return false;
        RemoveAt(i);
        return true;
    }

    /// <summary>Removes the key in a slot <see cref="Find"/> returned (no second lookup).</summary>
    public void RemoveAt(int slot)
    {
        var slots = _slots;
        int mask = slots.Length - 1;
        // Backward-shift deletion: move each following key of the run into the hole when the
        // hole lies between its home slot and where it sits, so every key stays reachable.
        int hole = slot;
        for (int j = (slot + 1) & mask; slots[j].Used; j = (j + 1) & mask)
        {
            int home = Home(slots[j].Key);
            bool holeOnPath = hole <= j ? home <= hole || home > j : home <= hole && home > j;
            if (!holeOnPath) continue;
            slots[hole] = slots[j];
            hole = j;
        }
        slots[hole] = default;
        Count--;
    }

    private void Grow()
    {
        var old = _slots;
        _slots = new Slot[old.Length * 2];
        _shift--;
        int mask = _slots.Length - 1;
        foreach (ref readonly var s in old.AsSpan())
        {
            if (!s.Used) continue;
            int i = Home(s.Key);
            while (_slots[i].Used) i = (i + 1) & mask;
            _slots[i] = s;
        }
    }
}
