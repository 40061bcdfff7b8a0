namespace DmaReplay.Engine.Checks;

/// <summary>
/// The most recent releases by (device, DMA address), so an unmap that finds nothing can be told
/// apart: a second release of an address (double unmap) or one never mapped. Bounded like
/// dma-debug's entry pool (65,536): the oldest releases are forgotten first, so memory stays flat.
/// </summary>
internal sealed class ReleasedMappings(int capacity = ReleasedMappings.DefaultCapacity)
{
    public const int DefaultCapacity = 65536;

    private readonly Dictionary<(int Device, ulong Addr), Release> _byKey = new();
    private readonly (int Device, ulong Addr)[] _ring = new (int, ulong)[capacity];
    private readonly long[] _ringGen = new long[capacity];
    private long _generation;

    public readonly record struct Release(EventOrigin ReleasedAt, EventOrigin MappedAt, long Generation);

    public void Add(int device, ulong addr, EventOrigin releasedAt, EventOrigin mappedAt)
    {
        long gen = ++_generation;
        int slot = (int)(gen % _ring.Length);
        if (_ringGen[slot] != 0 && _byKey.TryGetValue(_ring[slot], out var old) && old.Generation == _ringGen[slot])
            _byKey.Remove(_ring[slot]);
        _ring[slot] = (device, addr);
        _ringGen[slot] = gen;
        _byKey[(device, addr)] = new Release(releasedAt, mappedAt, gen);
    }

    /// <summary>The address is mapped again: a later release of it is no longer a double release.</summary>
    public void Forget(int device, ulong addr) => _byKey.Remove((device, addr));

    public bool TryGet(int device, ulong addr, out Release release) => _byKey.TryGetValue((device, addr), out release);
}
