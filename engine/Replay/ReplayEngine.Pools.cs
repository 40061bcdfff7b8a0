using DmaReplay.Engine.Pools;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Engine.Replay;

public sealed partial class ReplayEngine
{
    private AllocationReplay? _allocations;
    private AllocationReplay Allocations => _allocations ??= new AllocationReplay(_platform, _strings);

    // dma_alloc_attrs: the source and, where the kernel's allocator decides it, the address
    private void AllocPools(DmaEvent e)
    {
        var m = Model(e.Device);
        Allocations.Alloc(e, m, Translated(m));
    }

    private void FreePools(DmaEvent e) => Allocations.Free(e, Model(e.Device));

    private void PoolEvent(DmaEvent e) => Allocations.Pool(e);

    private PoolsReport? PoolsSummary() => _allocations?.Report(_lastNs);
}
