namespace DmaReplay.Engine.Swiotlb;

/// <summary>
/// struct io_tlb_pool of kernel/dma/swiotlb.c: slots of 2 KiB with their free-run counts
/// (list), original addresses, allocation sizes and pad counts, split into independently
/// searched areas, each with its own cursor (index) and used count.
/// </summary>
/// <remarks>
/// The kernel stores each slot's list (the free slots from it to the first used slot or the end
/// of its 128-slot segment) and rewrites the free run before a mapping on every allocation and
/// release. Here a bitmap of used slots stands for the lists: <see cref="List"/> derives the same
/// value from it, so allocation and release touch only the mapping's own slots. Likewise the
/// per-slot orig_addr and alloc_size, which the kernel writes for every slot of a mapping, follow
/// from the mapping's first slot (<see cref="Slot"/>) and a bitmap of where mappings start.
/// </remarks>
internal sealed class SwiotlbPool
{
    public const ulong InvalidPhysAddr = ulong.MaxValue;

    private readonly KernelDefaults _k;
    private readonly Slot[] _slots;
    private readonly ulong[] _used; // one bit per slot: allocated (the kernel's list == 0)
    private readonly ulong[] _starts; // one bit per slot: the first slot of a mapping (where the search placed it)
    private readonly Area[] _areas;
    private readonly int _areaShift;
    private int _lastMappingSlot = -1, _lastMappingStart = -1; // MappingOf's last answer; any change of the slots forgets it

    public SwiotlbPool(ulong start, int nslabs, int nareas, KernelDefaults k, bool transient = false)
    {
        _k = k;
        Start = start;
        Nslabs = nslabs;
        Nareas = nareas;
        AreaNslabs = nslabs / nareas;
        _areaShift = AreaNslabs > 0 && System.Numerics.BitOperations.IsPow2(AreaNslabs) ? System.Numerics.BitOperations.Log2((uint)AreaNslabs) : -1;
        Transient = transient;
        _slots = new Slot[nslabs];
        _used = new ulong[(nslabs + 63) / 64];
        _starts = new ulong[(nslabs + 63) / 64];
        _areas = new Area[nareas];
        // swiotlb_init_io_tlb_pool: every slot free, each list counting to the end of its segment.
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

    /// <summary>
    /// A mapping, kept at its first slot: what the kernel spreads over every slot of it. 16 bytes,
    /// so the pool's array stays small in the cache the checks share (64 MiB of slots: 512 KiB).
    /// </summary>
    private struct Slot
    {
        /// <summary>orig_addr of the first data slot (after the pad slots); data slot i has this plus i slots.</summary>
        public ulong OrigAddr;
        /// <summary>alloc_size of the first slot (at most a transient pool's one mapping); slot i has this less i slots.</summary>
        public uint AllocSize;
        private uint _nslotsAndPad; // slots (low 24 bits: a transient pool may hold one large mapping), pad slots (high 8: under 128)

        public int Nslots
        {
            readonly get => (int)(_nslotsAndPad & 0xff_ffff);
            set => _nslotsAndPad = (_nslotsAndPad & 0xff00_0000) | (uint)value;
        }

        public int PadSlots
        {
            readonly get => (int)(_nslotsAndPad >> 24);
            set => _nslotsAndPad = (_nslotsAndPad & 0xff_ffff) | ((uint)value << 24);
        }
    }

    private struct Area
    {
        public int Used;
        public int Index;
    }

    /// <summary>The first slot of the mapping holding slot <paramref name="i"/>, or -1 when the slot is free.</summary>
    private int MappingOf(int i)
    {
        // An unmap asks twice for the same slot (swiotlb_bounce's clamp, then the release): the last answer is kept.
        if (i == _lastMappingSlot) return _lastMappingStart;
        _lastMappingSlot = i;
        return _lastMappingStart = FindMapping(i);
    }

    private int FindMapping(int i)
    {
        if ((_used[i >> 6] & (1UL << (i & 63))) == 0) return -1;
        int w = i >> 6;
        ulong bits = _starts[w] & (~0UL >> (63 - (i & 63)));
        while (bits == 0) bits = _starts[--w]; // a used slot always has its mapping's start at or before it
        return (w << 6) + 63 - System.Numerics.BitOperations.LeadingZeroCount(bits);
    }

    /// <summary>
    /// slots[i].orig_addr and alloc_size with one lookup of the mapping (swiotlb_bounce reads both):
    /// INVALID_PHYS_ADDR for a free or pad slot's orig_addr, 0 for a free slot's alloc_size.
    /// </summary>
    public (ulong OrigAddr, ulong AllocSize) OrigAndAllocSize(int i)
    {
        int s = MappingOf(i);
        if (s < 0) return (InvalidPhysAddr, 0);
        int data = s + _slots[s].PadSlots;
        ulong orig = i < data ? InvalidPhysAddr : _slots[s].OrigAddr + ((ulong)(i - data) << _k.IoTlbShift);
        return (orig, _slots[s].AllocSize - ((ulong)(i - s) << _k.IoTlbShift));
    }

    /// <summary>slots[i].orig_addr.</summary>
    public ulong OrigAddr(int i) => OrigAndAllocSize(i).OrigAddr;

    /// <summary>slots[i].alloc_size.</summary>
    public ulong AllocSize(int i) => OrigAndAllocSize(i).AllocSize;

    /// <summary>swiotlb_tbl_map_single's bookkeeping after the search: pad slots and each data slot's orig_addr.</summary>
    public void SetOrig(int searchStart, int padSlots, ulong orig)
    {
        _slots[searchStart].PadSlots = padSlots;
        _slots[searchStart].OrigAddr = orig;
    }

    /// <summary>
    /// The kernel's slots[i].list: 0 for a used slot, else the free slots from <paramref name="i"/>
    /// up to the first used one, the end of its segment or the end of the pool.
    /// </summary>
    public int List(int i)
    {
        int end = Math.Min((i | (_k.IoTlbSegSize - 1)) + 1, Nslabs);
        return NextUsed(i, end) - i;
    }

    /// <summary>
    /// slots[i].list &gt;= <paramref name="n"/>: the n slots from i are free and inside one segment
    /// (and the pool). Tests only the bits of those slots, usually one word.
    /// </summary>
    private bool ListAtLeast(int i, int n)
    {
        int end = i + n;
        if (end > Math.Min((i | (_k.IoTlbSegSize - 1)) + 1, Nslabs)) return false;
        int w = i >> 6, last = (end - 1) >> 6;
        ulong first = ~0UL << (i & 63);
        if (w == last) return (_used[w] & first & (~0UL >> (63 - ((end - 1) & 63)))) == 0;
        if ((_used[w] & first) != 0) return false;
        for (int k = w + 1; k < last; k++)
        {
            if (_used[k] != 0) return false;
        }
        return (_used[last] & (~0UL >> (63 - ((end - 1) & 63)))) == 0;
    }

    /// <summary>The first used slot in [from, end), or end.</summary>
    private int NextUsed(int from, int end)
    {
        int w = from >> 6;
        ulong bits = _used[w] & (~0UL << (from & 63));
        while (true)
        {
            if (bits != 0) return Math.Min(end, (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(bits));
            if (++w << 6 >= end) return end;
            bits = _used[w];
        }
    }

    private void MarkUsed(int from, int count, bool used)
    {
        for (int i = from; i < from + count;)
        {
            int bit = i & 63, n = Math.Min(64 - bit, from + count - i);
            ulong mask = (n == 64 ? ~0UL : ((1UL << n) - 1)) << bit;
            if (used) _used[i >> 6] |= mask;
            else _used[i >> 6] &= ~mask;
            i += n;
        }
    }

    /// <summary>The area of a slot: a shift when areas are a power of two slots (the usual case), else a division.</summary>
    public int AreaOfSlot(int index) => _areaShift >= 0 ? index >> _areaShift : index / AreaNslabs;

    private int NrSlots(ulong bytes) => (int)((bytes + (ulong)_k.IoTlbSize - 1) >> _k.IoTlbShift);

    private int WrapAreaIndex(int index) => index >= AreaNslabs ? 0 : index;

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
        if (nslots > _k.IoTlbSegSize)
        {
            // No slot's free run exceeds a segment, so the kernel walks the whole area and fails:
            // count its steps without the walk (what-ifs that keep oversized captured requests).
            steps += FailedWalkSteps(slotBase, area.Index, tblDma, allocAlignMask, iotlbAlign, origAddr, stride);
            return -1;
        }
        int index = area.Index;
        int slotIndex = 0;
        bool found = false;
        ulong tblSlots = (ulong)NrSlots(tblDma);
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
            if (!IsSpanBoundary((ulong)slotIndex, (ulong)nslots, tblSlots, maxSlots) && ListAtLeast(slotIndex, nslots))
            {
                found = true;
                break;
            }
            index = WrapAreaIndex(index + stride);
            checkedSlots += stride;
        }
        if (!found) return -1;

        // The kernel sets alloc_size on every slot and renumbers the free run before the mapping.
        _slots[slotIndex] = new Slot { AllocSize = checked((uint)(allocSize - offset)), OrigAddr = InvalidPhysAddr, Nslots = nslots };
        _starts[slotIndex >> 6] |= 1UL << (slotIndex & 63);
        MarkUsed(slotIndex, nslots, used: true);
        _lastMappingSlot = -1;

        area.Index = WrapAreaIndex(index + nslots);
        area.Used += nslots;
        Used += nslots;
        return slotIndex;
    }

    /// <summary>
    /// The steps of swiotlb_search_pool_area's loop when no slot can hold the request: slots that
    /// fail the alignment test advance by one, the others by the stride, until a whole area was
    /// checked. When a stride keeps the tested address bits (it is a multiple of their span), an
    /// aligned slot's run of strides up to the wrap is counted at once; otherwise (a stride of 7
    /// for iotlb_align_mask 0x3000) slot by slot.
    /// </summary>
    internal long FailedWalkSteps(int slotBase, int index, ulong tblDma, ulong allocAlignMask, ulong iotlbAlign, ulong origAddr, int stride)
    {
        ulong tested = allocAlignMask | iotlbAlign;
        ulong span = tested == 0 ? 1 : 2UL << (63 - System.Numerics.BitOperations.LeadingZeroCount(tested));
        int run1 = ((ulong)stride << _k.IoTlbShift) % span == 0 ? int.MaxValue : 1;
        long steps = 0;
        for (int checkedSlots = 0; checkedSlots < AreaNslabs;)
        {
            ulong tlbAddr = tblDma + ((ulong)(slotBase + index) << _k.IoTlbShift);
            if ((tlbAddr & allocAlignMask) != 0 || (origAddr != 0 && (tlbAddr & iotlbAlign) != (origAddr & iotlbAlign)))
            {
                steps++;
                index = WrapAreaIndex(index + 1);
                checkedSlots++;
                continue;
            }
            // Iterations left before the cursor wraps, and before the whole area is checked.
            int beforeWrap = (AreaNslabs - index + stride - 1) / stride;
            int beforeDone = (AreaNslabs - checkedSlots + stride - 1) / stride;
            int run = Math.Min(run1, Math.Min(beforeWrap, beforeDone));
            steps += run;
            checkedSlots += run * stride;
            index = WrapAreaIndex(index + run * stride);
        }
        return steps;
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
        int s = MappingOf(index);
        if (s >= 0 && index == s + _slots[s].PadSlots) index = s; // index -= slots[index].pad_slots
        int nslots = NrSlots((s < 0 ? 0 : _slots[s].AllocSize - ((ulong)(index - s) << _k.IoTlbShift)) + offset);
        int aindex = AreaOfSlot(index);

        // The kernel clears orig_addr, alloc_size and pad_slots of each released slot. Released
        // from inside a mapping (not what a driver's unmap does), the slots around keep theirs.
        if (s >= 0)
        {
            int end = s + _slots[s].Nslots, after = index + nslots;
            if (after < end)
            {
                ulong orig = OrigAddr(after);
                _slots[after] = new Slot { AllocSize = (uint)AllocSize(after), OrigAddr = orig, Nslots = end - after };
                _starts[after >> 6] |= 1UL << (after & 63);
            }
            if (s < index) _slots[s].Nslots = index - s;
            if (s >= index) _starts[s >> 6] &= ~(1UL << (s & 63)); // a mapping's only start bit is its first slot's
        }
        MarkUsed(index, nslots, used: false); // the kernel renumbers the merged free run's lists
        _lastMappingSlot = -1;
        _areas[aindex].Used -= nslots;
        Used -= nslots;
        return nslots;
    }

    /// <summary>The longest run one mapping could get now (largest list value): fragmentation.</summary>
    public int LargestFreeRun()
    {
        int max = 0;
        for (int i = 0; i < Nslabs;)
        {
            int run = List(i);
            max = Math.Max(max, run);
            i += Math.Max(run, 1);
        }
        return max;
    }
}
