namespace DmaReplay.Engine.Iommu.Hardware;

/// <summary>
/// An IOTLB geometry. Intel publishes no VT-d IOTLB size or associativity: <c>vtd-1024</c>
/// (1024 entries, 8-way) is an assumption of this tool, of the order reported for recent Intel
/// server IOMMUs, and is meant to be overridden (iommu.iotlb.entries, iommu.iotlb.ways).
/// <c>smmuv3-gem5</c> is gem5's SMMUv3 main TLB (src/dev/arm/SMMUv3.py: tlb_entries=2048,
/// tlb_assoc=4; gem5 replaces round-robin, this model LRU).
/// </summary>
public sealed record IotlbGeometry(string Name, int Entries, int Ways)
{
    public static readonly IotlbGeometry Vtd1024 = new("vtd-1024", 1024, 8);
    public static readonly IotlbGeometry Smmuv3Gem5 = new("smmuv3-gem5", 2048, 4);

    public static IotlbGeometry Preset(string name) => name switch
    {
        "vtd-1024" => Vtd1024,
        "smmuv3-gem5" => Smmuv3Gem5,
        _ => throw new FormatException($"iommu.iotlb: vtd-1024 or smmuv3-gem5, not '{name}'"),
    };

    public int Sets => Entries / Ways;
}

/// <summary>
/// A set-associative IOTLB with LRU replacement, shared by the domains of one IOMMU and tagged
/// with the domain id (DID on VT-d, ASID/VMID on SMMU). An entry caches one leaf: a 4 KiB page or
/// a 2 MiB large page. Fixed arrays: lookups and invalidations allocate nothing.
/// </summary>
public sealed class Iotlb
{
    private readonly ulong[] _tags;   // (page number << 1 | large); ulong.MaxValue = empty
    private readonly int[] _dids;
    private readonly long[] _used;    // LRU stamp
    private readonly int _ways, _sets;
    private readonly bool _setsArePow2;
    private long _clock;

    public Iotlb(IotlbGeometry g)
    {
        if (g.Entries <= 0 || g.Ways <= 0 || g.Entries % g.Ways != 0)
            throw new ArgumentException($"IOTLB: entries ({g.Entries}) must be a positive multiple of ways ({g.Ways})");
        Geometry = g;
        _ways = g.Ways;
        _sets = g.Sets;
        _setsArePow2 = System.Numerics.BitOperations.IsPow2(_sets);
        _tags = new ulong[g.Entries];
        _dids = new int[g.Entries];
        _used = new long[g.Entries];
        Array.Fill(_tags, ulong.MaxValue);
    }

    public IotlbGeometry Geometry { get; }

    /// <summary>Valid entries now (never more than the geometry's entries).</summary>
    public int Count => _tags.Count(t => t != ulong.MaxValue);

    private static ulong Tag(ulong pageNumber, bool large) => pageNumber << 1 | (large ? 1UL : 0);
    // Per device access: a mask when the sets are a power of two (every preset), not a 64-bit division.
    private int SetOf(ulong pageNumber) =>
        (int)(_setsArePow2 ? pageNumber & ((ulong)_sets - 1) : pageNumber % (ulong)_sets) * _ways;

    /// <summary>Looks the page up; on a miss fills it (evicting the set's least recently used entry). Returns whether it hit.</summary>
    public bool Access(int did, ulong pageNumber, bool large)
    {
        int set = SetOf(pageNumber), victim = set;
        ulong tag = Tag(pageNumber, large);
        _clock++;
        for (int i = set; i < set + _ways; i++)
        {
            if (_tags[i] == tag && _dids[i] == did)
            {
                _used[i] = _clock;
                return true;
            }
            if (_tags[victim] != ulong.MaxValue && (_tags[i] == ulong.MaxValue || _used[i] < _used[victim])) victim = i;
        }
        _tags[victim] = tag;
        _dids[victim] = did;
        _used[victim] = _clock;
        return false;
    }

    /// <summary>Page-selective invalidation of one page (qi_flush_piotlb / PSI, CMD_TLBI_NH_VA). Returns whether an entry was dropped.</summary>
    public bool InvalidatePage(int did, ulong pageNumber, bool large)
    {
        int set = SetOf(pageNumber);
        ulong tag = Tag(pageNumber, large);
        for (int i = set; i < set + _ways; i++)
        {
            if (_tags[i] != tag || _dids[i] != did) continue;
            _tags[i] = ulong.MaxValue;
            return true;
        }
        return false;
    }

    /// <summary>Domain-selective invalidation (DSI, CMD_TLBI_NH_ASID): every entry of the domain.</summary>
    public int InvalidateDomain(int did)
    {
        int n = 0;
        for (int i = 0; i < _tags.Length; i++)
        {
            if (_tags[i] == ulong.MaxValue || _dids[i] != did) continue;
            _tags[i] = ulong.MaxValue;
            n++;
        }
        return n;
    }
}
