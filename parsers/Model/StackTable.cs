namespace DmaReplay.Parsers.Model;

/// <summary>
/// Interns whole call stacks (sequences of function ids, innermost first) so that an event
/// carries one int and findings can be grouped by call site. A stack seen before costs a hash
/// and a compare; only a new stack allocates.
/// </summary>
public sealed class StackTable
{
    private readonly Dictionary<StackKey, int> _ids = new();
    private readonly List<int[]> _stacks = [];

    public int Count => _stacks.Count;

    public ReadOnlySpan<int> this[int id] => _stacks[id];

    public int Intern(ReadOnlySpan<int> frames)
    {
        var copy = frames.ToArray();
        return Intern(copy, copy.Length);
    }

    /// <summary>Same as <see cref="Intern"/> but uses a caller-owned scratch array to avoid allocating on a hit.</summary>
    internal int Intern(int[] scratch, int length)
    {
        var probe = new StackKey(scratch, length);
        if (_ids.TryGetValue(probe, out int id)) return id;
        var frames = scratch.AsSpan(0, length).ToArray();
        id = _stacks.Count;
        _stacks.Add(frames);
        _ids.Add(new StackKey(frames), id);
        return id;
    }

    private readonly struct StackKey : IEquatable<StackKey>
    {
        public readonly int[] Frames;
        private readonly int _length;
        public StackKey(int[] frames) : this(frames, frames.Length) { }
        public StackKey(int[] frames, int length) { Frames = frames; _length = length; }
        public bool Equals(StackKey other) => Frames.AsSpan(0, _length).SequenceEqual(other.Frames.AsSpan(0, other._length));
        public override bool Equals(object? obj) => obj is StackKey k && Equals(k);
        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (int f in Frames.AsSpan(0, _length)) h.Add(f);
            return h.ToHashCode();
        }
    }
}
