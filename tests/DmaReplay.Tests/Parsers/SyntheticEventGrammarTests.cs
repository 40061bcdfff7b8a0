using DmaReplay.Parsers.Model;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Parsers;

/// <summary>The dmareplay events synthetic traces carry in ftrace text (docs/synthetic-format.md).</summary>
[TestClass]
public sealed class SyntheticEventGrammarTests
{
    private static string L(string evt, string body) =>
        TraceHarness.Line("kworker/0:1", 42, 0, "....1", "100.000001", evt, body);

    [TestMethod]
    public void PoolEventsAndUnbindParse()
    {
        var h = TraceHarness.ReadText(string.Join("\n",
            L("dma_pool_create", "0000:00:14.0 size=64 align=64 boundary=4096 pool=xHCI ring segments"),
            L("dma_pool_alloc", "0000:00:14.0 dma_addr=fff01040 virt_addr=ffff888003a01040 flags=GFP_ATOMIC pool=xHCI ring segments"),
            L("dma_pool_free", "0000:00:14.0 dma_addr=fff01040 virt_addr=ffff888003a01040 pool=xHCI ring segments"),
            L("dma_pool_destroy", "0000:00:14.0 pool=xHCI ring segments"),
            L("device_unbind", "0000:00:14.0 driver=xhci_hcd"),
            L("dma_alloc", "0000:00:14.0 dir=BIDIRECTIONAL dma_addr=fff02000 size=4096 virt_addr=ffff888003a02000 flags=GFP_KERNEL managed attrs="),
            L("dma_free", "0000:00:14.0 dir=BIDIRECTIONAL dma_addr=fff02000 size=4096 virt_addr=ffff888003a02000 managed attrs="),
            L("dma_alloc", "0000:00:14.0 dir=BIDIRECTIONAL dma_addr=fff03000 size=4096 virt_addr=ffff888003a03000 flags=GFP_KERNEL attrs=")) + "\n");
        h.AssertAccounted();
        Assert.AreEqual(0L, h.Stats.Malformed);

        var create = h.Single(DmaEventKind.DmaPoolCreate);
        Assert.AreEqual("xHCI ring segments", h.Strings.Text[create.Pool]);
        Assert.AreEqual((64UL, 64UL, 4096UL), (create.Size, create.Align, create.Boundary));
        Assert.AreEqual("0000:00:14.0", h.Device(create));

        var alloc = h.Single(DmaEventKind.DmaPoolAlloc);
        Assert.AreEqual((0xfff01040UL, 0xffff888003a01040UL), (alloc.DmaAddr, alloc.VirtAddr));
        Assert.IsTrue(alloc.Gfp.HasFlag(GfpFlags.Atomic));
        Assert.AreEqual(create.Pool, alloc.Pool);
        Assert.AreEqual(create.Pool, h.Single(DmaEventKind.DmaPoolFree).Pool);
        Assert.AreEqual(create.Pool, h.Single(DmaEventKind.DmaPoolDestroy).Pool);
        Assert.AreEqual("xhci_hcd", h.Strings.Text[h.Single(DmaEventKind.DeviceUnbind).Driver]);

        var allocs = h.Events.Where(e => e.Kind == DmaEventKind.DmaAlloc).ToList();
        Assert.IsTrue(allocs[0].Managed);
        Assert.IsFalse(allocs[1].Managed);
        Assert.IsTrue(h.Single(DmaEventKind.DmaFree).Managed);
        Assert.AreEqual(TraceSystem.DmaReplay, DmaEventKind.DmaPoolAlloc.System());
        Assert.IsTrue(DmaEventKind.DmaPoolFree.IsDmaPool());
        Assert.IsFalse(DmaEventKind.DeviceUnbind.IsFence());
    }

    [TestMethod]
    public void PoolEventWithoutItsPoolNameIsMalformed()
    {
        var h = TraceHarness.ReadText(L("dma_pool_destroy", "0000:00:14.0 pool=") + "\n" +
                                      L("device_unbind", "0000:00:14.0") + "\n");
        Assert.AreEqual(2L, h.Stats.Malformed);
    }
}
