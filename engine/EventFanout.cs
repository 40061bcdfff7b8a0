using DmaReplay.Parsers;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine;

/// <summary>Hands each event to several consumers in order (summary, checker, …).</summary>
public sealed class EventFanout(params ITraceEventHandler[] handlers) : ITraceEventHandler
{
    public void OnEvent(DmaEvent e)
    {
        foreach (var h in handlers) h.OnEvent(e);
    }
}
