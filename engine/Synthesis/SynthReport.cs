using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Synthesis;

/// <summary>What a synthesizer wrote: line and byte totals and event lines by name.</summary>
public sealed class SynthReport
{
    public const string MarkerEventName = "tracing_mark_write";

    private readonly long[] _byKind = new long[DmaEventKinds.Count];

    /// <summary>Every line, the 12 header lines included.</summary>
    public long Lines { get; internal set; }
    /// <summary>Event lines (the header's entries-in-buffer value).</summary>
    public long Events { get; internal set; }
    /// <summary>Bytes of trace text (before any compression).</summary>
    public long Bytes { get; internal set; }
    /// <summary><c>tracing_mark_write</c> lines: not DMA events, readers count them as other events.</summary>
    public long Markers { get; internal set; }

    public long Count(DmaEventKind kind) => _byKind[(int)kind];

    /// <summary>What was injected and every finding `check` must report; null unless <see cref="SynthOptions.Manifest"/> was set.</summary>
    public SynthManifest? Manifest { get; internal set; }

    /// <summary>DMA/swiotlb event lines (every event line except markers).</summary>
    public long DmaEvents => Events - Markers;

    /// <summary>Counts by printed event name, ordered by name, markers included; kinds never written are left out.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> ByName()
    {
        var list = new List<KeyValuePair<string, long>>();
        for (int k = 0; k < _byKind.Length; k++)
        {
            if (_byKind[k] > 0) list.Add(KeyValuePair.Create(((DmaEventKind)k).Name(), _byKind[k]));
        }
        if (Markers > 0) list.Add(KeyValuePair.Create(MarkerEventName, Markers));
        list.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    internal void CountEvent(DmaEventKind kind)
    {
        _byKind[(int)kind]++;
        Events++;
    }

    internal void CountMarker()
    {
        Markers++;
        Events++;
    }
}
