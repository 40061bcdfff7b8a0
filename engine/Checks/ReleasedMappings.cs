namespace DmaReplay.Engine.Checks;

/// <summary>
/// Recent releases by (device, address), so an unmap that finds nothing can be told apart: a
/// second release (double unmap) or an address never mapped. A fixed direct-mapped table: a
/// release costs one array store and memory stays flat whatever the trace length; a release
/// is forgotten when a later release lands in its slot, so a double unmap is recognised as such
/// while fewer than about <see cref="Slots"/> other releases came in between (otherwise it is
/// reported as unmap-not-mapped). It is consulted only when a lookup has failed.
/// </summary>
internal sealed class ReleasedMappings
{
    public const int Slots = 1 << 16;

    /// <summary>Releases recorded but not yet written to their slots (see <see cref="Add"/>).</summary>
    private const int PendingCapacity = 1024;

    private readonly Slot[] _slots = new Slot[Slots];
    private readonly Slot[] _pending = new Slot[PendingCapacity];
    private readonly int[] _pendingIndex = new int[PendingCapacity];
    private int _pendingCount;

    /// <summary>Where the release happened (line, time, stack: what a finding's related event needs) and the line of its map.</summary>
    public readonly record struct Release(long ReleasedLine, long ReleasedNs, int ReleasedStack, long MappedLine)
    {
        public EventOrigin ReleasedAt(int input) => new(input, ReleasedLine, ReleasedNs, -1, -1, -1, ReleasedStack);
    }

    // 40 bytes, so the table (2.5 MiB) stays mostly in cache.
    private struct Slot
    {
        public ulong Addr;
        public long ReleasedLine;
        public long ReleasedNs;
        public long MappedLine;
        public int Device; // +1: 0 means empty
        public int ReleasedStack;
    }

    private static int Index(int device, ulong addr)
    {
        ulong h = (addr ^ ((ulong)(uint)device << 52)) * 0x9E3779B97F4A7C15UL;
        return (int)(h >> (64 - 16));
    }

    /// <summary>
    /// Records a release. It is queued and written to its slot with the others queued before it
    /// when the queue is full or a lookup comes: the table is too big for the cache, and a write
    /// into it on every release stalled the parser behind it, while a batch of writes in a loop
    /// overlaps their cache misses. Written in order, the table ends up exactly as direct writes
    /// would leave it.
    /// </summary>
    public void Add(int device, ulong addr, in EventOrigin releasedAt, long mappedLine)
    {
        _pendingIndex[_pendingCount] = Index(device, addr);
        ref var s = ref _pending[_pendingCount];
        s.Addr = addr;
        s.Device = device + 1;
        s.ReleasedLine = releasedAt.Line;
        s.ReleasedNs = releasedAt.TimestampNs;
        s.ReleasedStack = releasedAt.Stack;
        s.MappedLine = mappedLine;
        if (++_pendingCount == PendingCapacity) WritePending();
    }

    private void WritePending()
    {
        for (int i = 0; i < _pendingCount; i++) _slots[_pendingIndex[i]] = _pending[i];
        _pendingCount = 0;
    }

    public bool TryGet(int device, ulong addr, out Release release)
    {
        if (_pendingCount > 0) WritePending();
        ref var s = ref _slots[Index(device, addr)];
        bool hit = s.Device == device + 1 && s.Addr == addr;
        release = hit ? new Release(s.ReleasedLine, s.ReleasedNs, s.ReleasedStack, s.MappedLine) : default;
        return hit;
    }
}
