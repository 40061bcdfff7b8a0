using DmaReplay.Parsers.Model;

namespace DmaReplay.Parsers;

/// <summary>Receives the events a reader pushes, in input order.</summary>
/// <remarks>The event instance is reused by the reader; see <see cref="DmaEvent"/>.</remarks>
public interface ITraceEventHandler
{
    void OnEvent(DmaEvent e);
}
