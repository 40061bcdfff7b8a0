namespace DmaReplay.Engine.Pools;

/// <summary>
/// struct dma_coherent_mem (kernel/dma/coherent.c): a device's own coherent memory (DT
/// "shared-dma-pool", dma_declare_coherent_memory) or the global pool ("linux,dma-default"),
/// handed out page by page from a bitmap.
/// </summary>
/// <param name="deviceBase">dma_get_device_base: the DMA address of page 0.</param>
public sealed class DevCoherentMem(ulong deviceBase, ulong size, int pageShift)
{
    private readonly PageBitmap _bitmap = new((int)(size >> pageShift));

    public ulong DeviceBase => deviceBase;
    /// <summary>mem->size in pages.</summary>
    public int Pages => _bitmap.Bits;
    public int UsedPages => _bitmap.SetCount;
    public ulong SizeBytes => (ulong)Pages << pageShift;

    /// <summary>get_order(size): the smallest order whose pages hold <paramref name="size"/> bytes.</summary>
    public static int GetOrder(ulong size, int pageShift)
    {
        if (size <= 1UL << pageShift) return 0;
        ulong pages = (size - 1) >> pageShift;
        return 64 - System.Numerics.BitOperations.LeadingZeroCount(pages);
    }

    /// <summary>
    /// __dma_alloc_from_coherent: order = get_order(size); a size above the area fails; else
    /// bitmap_find_free_region, and the handle is device base + pageno pages. Null when it fails
    /// (dma_alloc_attrs then returns NULL: a device with such an area never falls back).
    /// </summary>
    public ulong? Alloc(ulong size)
    {
        if (size > SizeBytes) return null;
        int pageno = _bitmap.FindFreeRegion(GetOrder(size, pageShift));
        return pageno < 0 ? null : deviceBase + ((ulong)pageno << pageShift);
    }

    public bool Contains(ulong dma) => dma >= deviceBase && dma - deviceBase < SizeBytes;

    /// <summary>
    /// __dma_release_from_coherent: an address inside the area releases the region of the order of
    /// the size passed to free (dma_free_attrs: get_order(size)); true when handled.
    /// </summary>
    public bool Release(ulong dma, ulong size)
    {
        if (!Contains(dma)) return false;
        _bitmap.ReleaseRegion((int)((dma - deviceBase) >> pageShift), GetOrder(size, pageShift));
        return true;
    }
}
