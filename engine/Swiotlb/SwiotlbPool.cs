namespace DmaReplay.Engine.Swiotlb;

/// <summary>
/// struct io_tlb_pool of kernel/dma/swiotlb.c: slots of 2 KiB with their free-run counts
/// (list), original addresses, allocation sizes and pad counts, split into independently
/// searched areas, each with its own cursor (index) and used count.
/// </summary>
internal sealed class SwiotlbPool
{
    public const ulong InvalidPhysAddr = ulong.MaxValue;

    private readonly KernelDefaults _k;
    private readonly Slot[] _slots;
    private readonly Area[] _areas;

    public SwiotlbPool(ulong start, int nslabs, int nareas, KernelDefaults k, bool transient = false)
    {
        _k = k;
        Start = start;
        Nslabs = nslabs;
        Nareas = nareas;
        AreaNslabs = nslabs / nareas;
        Transient = transient;
        _slots = new Slot[nslabs];
        _areas = new Area[nareas];
        // swiotlb_init_io_tlb_pool: each slot counts the free slots from it to the end of its segment.
        for (int i = 0; i < nslabs; i++)
        {
            _slots[i].List = Math.Min(k.IoTlbSegSize - (i & (k.IoTlbSegSize - 1)), nslabs - i);
            _slots[i].OrigAddr = InvalidPhysAddr;
        }
    }

    public ulong Start { get; }
    public ulong End => Start + ((ulong)Nslabs << _k.IoTlbShift);
    public int Nslabs { get; }
    public int Nareas { get; }
    public int AreaNslabs { get; }
    /// <summary>A transient pool (CONFIG_SWIOTLB_DYNAMIC) serves exactly one mapping.</summary>
    public bool Transient { get; }
    public int Used { get; private set; }

    public bool Contains(ulong addr) => addr >= Start && addr < End;

    public int AreaUsed(int area) => _areas[area].Used;
    public int AreaIndex(int area) => _areas[area].Index;

    internal struct Slot
    {
        public ulong OrigAddr;
        public ulong AllocSize;
        public int List;
        public ushort PadSlots;
    }

    private struct Area
    {
        public int Used;
        public int Index;
    }

    internal ref Slot SlotAt(int i) => ref _slots[i];

    private int NrSlots(ulong bytes) => (int)((bytes + (ulong)_k.IoTlbSize - 1) >> _k.IoTlbShift);

    private int WrapAreaIndex(int index) => index >= AreaNslabs ? 0 : index;

    private int SegOffset(int i) => i & (_k.IoTlbSegSize - 1);

    /// <summary>
    /// swiotlb_search_pool_area: from the area's cursor, find <paramref name="allocSize"/> bytes of
    /// free slots whose address meets the alignment rules and does not cross the device's segment
    /// boundary. Returns the first slot (pool index) or -1; <paramref name="steps"/> counts the slots tried.
    /// </summary>
    public int SearchArea(int areaIndex, ulong origAddr, ulong allocSize, ulong allocAlignMask,
        ulong minAlignMask, ulong boundaryMask, ulong tblDmaStart, ref long steps)
    {
        ulong slotMask = (ulong)_k.IoTlbSize - 1;
        ulong tblDma = tblDmaStart & boundaryMask;
        ulong maxSlots = (boundaryMask >> _k.IoTlbShift) + 1; // get_max_slots; wraps to 2^53 for ~0UL
        int nslots = NrSlots(allocSize);
        ulong offset = origAddr & minAlignMask & slotMask; // swiotlb_align_offset(dev, 0, orig)
        ulong iotlbAlign;
        int stride;
        if (_k.SwiotlbPadSlots)
        {
            iotlbAlign = minAlignMask;
            // Page-sized streaming mappings stay page aligned when nothing else asks for alignment.
            if (allocAlignMask == 0 && iotlbAlign == 0 && allocSize >= _k.PageSize) allocAlignMask = _k.PageSize - 1;
            allocAlignMask |= slotMask;
            iotlbAlign &= ~allocAlignMask;
            stride = (int)((Math.Max(allocAlignMask, iotlbAlign) >> _k.IoTlbShift) + 1);
        }
        else
        {
            // ≤ 6.8 swiotlb_area_find_slots: one mask, tested only against a real orig_addr.
            iotlbAlign = minAlignMask | allocAlignMask;
            if (allocSize >= _k.PageSize) iotlbAlign |= _k.PageSize - 1;
            iotlbAlign &= ~slotMask;
            stride = (int)((iotlbAlign >> _k.IoTlbShift) + 1);
            allocAlignMask = 0; // folded into iotlbAlign
        }

        ref var area = ref _areas[areaIndex];
        if (nslots > AreaNslabs - area.Used) return -1;

        int slotBase = areaIndex * AreaNslabs;
        int index = area.Index;
        int slotIndex = 0;
        bool found = false;
        for (int checkedSlots = 0; checkedSlots < AreaNslabs;)
        {
            steps++;
            slotIndex = slotBase + index;
            ulong tlbAddr = tblDma + ((ulong)slotIndex << _k.IoTlbShift);
            if ((tlbAddr & allocAlignMask) != 0 || (origAddr != 0 && (tlbAddr & iotlbAlign) != (origAddr & iotlbAlign)))
            {
                index = WrapAreaIndex(index + 1);
                checkedSlots++;
                continue;
            }
            if (!IsSpanBoundary((ulong)slotIndex, (ulong)nslots, (ulong)NrSlots(tblDma), maxSlots) && _slots[slotIndex].List >= nslots)
            {
                found = true;
                break;
            }
            index = WrapAreaIndex(index + stride);
            checkedSlots += stride;
        }
        if (!found) return -1;

        for (int i = slotIndex; i < slotIndex + nslots; i++)
        {
            _slots[i].List = 0;
            _slots[i].AllocSize = allocSize - (offset + ((ulong)(i - slotIndex) << _k.IoTlbShift));
        }
        int count = 0;
        for (int i = slotIndex - 1; i >= 0 && SegOffset(i) != _k.IoTlbSegSize - 1 && _slots[i].List != 0; i--) _slots[i].List = ++count;

        area.Index = WrapAreaIndex(index + nslots);
        area.Used += nslots;
        Used += nslots;
        return slotIndex;
    }

    /// <summary>iommu_is_span_boundary (include/linux/iommu-helper.h).</summary>
    private static bool IsSpanBoundary(ulong index, ulong nr, ulong shift, ulong boundarySize)
    {
        shift = (shift + index) & (boundarySize - 1);
        return shift + nr > boundarySize;
    }

    /// <summary>
    /// swiotlb_release_slots: free the mapping at <paramref name="tlbAddr"/>, merging the freed run
    /// with the free slots after and before it inside the segment. The area cursor does not move.
    /// Returns the number of slots freed.
    /// </summary>
    public int Release(ulong tlbAddr, ulong minAlignMask)
    {
        ulong offset = tlbAddr & minAlignMask & ((ulong)_k.IoTlbSize - 1);
        int index = (int)((tlbAddr - offset - Start) >> _k.IoTlbShift);
        index -= _slots[index].PadSlots;
        int nslots = NrSlots(_slots[index].AllocSize + offset);
        int aindex = index / AreaNslabs;

        int segEnd = (index + 1 + _k.IoTlbSegSize - 1) & ~(_k.IoTlbSegSize - 1); // ALIGN(index + 1, IO_TLB_SEGSIZE)
        int count = index + nslots < segEnd ? _slots[index + nslots].List : 0;
        for (int i = index + nslots - 1; i >= index; i--)
        {
            _slots[i].List = ++count;
            _slots[i].OrigAddr = InvalidPhysAddr;
            _slots[i].AllocSize = 0;
            _slots[i].PadSlots = 0;
        }
        for (int i = index - 1; i >= 0 && SegOffset(i) != _k.IoTlbSegSize - 1 && _slots[i].List != 0; i--) _slots[i].List = ++count;
        _areas[aindex].Used -= nslots;
        Used -= nslots;
        return nslots;
    }

    /// <summary>The longest run one mapping could get now (largest list value): fragmentation.</summary>
    public int LargestFreeRun()
    {
        int max = 0;
        for (int i = 0; i < _slots.Length; i++) max = Math.Max(max, _slots[i].List);
        return max;
    }
}
