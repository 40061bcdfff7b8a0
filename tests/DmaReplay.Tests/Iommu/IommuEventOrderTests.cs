using DmaReplay.Engine.Replay;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Tests.Iommu;

/// <summary>A dma-iommu map is replayed where its first iommu map event shows the IOVA was taken.</summary>
[TestClass]
public sealed class IommuEventOrderTests
{
    private static DmaEvent Ev(DmaEventKind kind, long ns, int cpu, int pid, TraceContextFlags flags = TraceContextFlags.None, int line = 0) =>
        new() { Kind = kind, TimestampNs = ns, Cpu = cpu, Pid = pid, Flags = flags, Position = new SourcePosition(0, line, 0) };

    [TestMethod]
    public void AnInterruptInsideAMappingComesAfterIt()
    {
        var seen = new List<(DmaEventKind Kind, long Ns)>();
        var order = new IommuEventOrder(e => seen.Add((e.Kind, e.TimestampNs)));
        order.OnEvent(Ev(DmaEventKind.IommuMap, 100, 1, 313));
        order.OnEvent(Ev(DmaEventKind.DmaUnmapSg, 150, 1, 313, TraceContextFlags.HardIrq)); // completion on the same CPU
        order.OnEvent(Ev(DmaEventKind.IommuUnmap, 151, 1, 313, TraceContextFlags.HardIrq));
        order.OnEvent(Ev(DmaEventKind.DmaMapPage, 200, 0, 7)); // another CPU
        order.OnEvent(Ev(DmaEventKind.IommuMap, 210, 1, 313));
        order.OnEvent(Ev(DmaEventKind.DmaMapSg, 220, 1, 313));
        CollectionAssert.AreEqual(new[]
        {
            (DmaEventKind.DmaMapSg, 100L), (DmaEventKind.IommuMap, 100L), (DmaEventKind.DmaUnmapSg, 150L), (DmaEventKind.IommuUnmap, 151L),
            (DmaEventKind.DmaMapPage, 200L), (DmaEventKind.IommuMap, 210L),
        }, seen);
        Assert.AreEqual(1L, order.Moved);
    }

    [TestMethod]
    public void AMapOfNoDmaCallIsLetGo()
    {
        var seen = new List<DmaEventKind>();
        var order = new IommuEventOrder(e => seen.Add(e.Kind));
        order.OnEvent(Ev(DmaEventKind.IommuMap, 0, 1, 1)); // the ISA bridge identity map at group setup
        order.OnEvent(Ev(DmaEventKind.DmaMapPage, 1_000, 0, 9));
        Assert.AreEqual(0, seen.Count, "held while the context may still finish its map");
        order.OnEvent(Ev(DmaEventKind.IommuAttachDeviceToDomain, 2_000, 1, 1));
        CollectionAssert.AreEqual(new[] { DmaEventKind.IommuMap, DmaEventKind.DmaMapPage, DmaEventKind.IommuAttachDeviceToDomain }, seen);
        order.OnEvent(Ev(DmaEventKind.IommuMap, 3_000, 1, 5));
        order.OnEvent(Ev(DmaEventKind.DmaUnmapPage, 60_000_000, 0, 9));
        Assert.AreEqual(5, seen.Count, "a hold older than 50 ms is released");
        order.Flush();
    }
}
