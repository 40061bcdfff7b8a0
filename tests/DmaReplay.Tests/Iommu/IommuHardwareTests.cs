using CsCheck;
using DmaReplay.Engine.Iommu;
using DmaReplay.Engine.Iommu.Hardware;
using DmaReplay.Engine.Platform;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Iommu;

[TestClass]
public sealed class IommuHardwareTests
{
    private static readonly IotlbGeometry FourByTwo = new("test", 4, 2);

    [TestMethod]
    public void Iotlb_two_way_sets_replace_the_least_recently_used()
    {
        // 4 entries, 2 ways: 2 sets, set = page % 2. Pages 0, 2, 4 share set 0.
        // 0 miss [0]; 2 miss [0 2]; 0 hit (0 most recent); 4 miss, evicts 2 → [0 4];
        // 0 hit; 2 miss, evicts 4 → [0 2]; 1 miss (set 1); 4 miss, evicts 0 → [2 4]; 2 hit.
        var tlb = new Iotlb(FourByTwo);
        ulong[] pages = [0, 2, 0, 4, 0, 2, 1, 4, 2];
        bool[] expected = [false, false, true, false, true, false, false, false, true];
        CollectionAssert.AreEqual(expected, pages.Select(p => tlb.Access(1, p, false)).ToArray());
        Assert.AreEqual(3, tlb.Count, "set 0 full, set 1 holds page 1");
        Assert.IsFalse(tlb.Access(2, 2, false), "another domain's page 2 is another entry: it evicts set 0's LRU, page 4");
        Assert.AreEqual(3, tlb.Count);
        Assert.IsTrue(tlb.Access(1, 2, false));
        Assert.IsFalse(tlb.Access(1, 4, false));
    }

    [TestMethod]
    public void Iotlb_invalidations_drop_by_page_and_by_domain()
    {
        var tlb = new Iotlb(FourByTwo);
        tlb.Access(1, 0, false);
        tlb.Access(1, 1, false);
        tlb.Access(2, 0, false);
        Assert.IsTrue(tlb.InvalidatePage(1, 0, false));
        Assert.IsFalse(tlb.InvalidatePage(1, 0, false), "already gone");
        Assert.IsFalse(tlb.InvalidatePage(1, 1, true), "a 2 MiB tag is not the 4 KiB page's");
        Assert.IsTrue(tlb.Access(2, 0, false), "domain 2's page 0 survives domain 1's invalidation");
        Assert.AreEqual(1, tlb.InvalidateDomain(1));
        Assert.AreEqual(1, tlb.Count);
    }

    [TestMethod]
    public void Page_table_counts_table_pages_and_uses_2MiB_leaves_when_aligned()
    {
        var pt = new IoPageTable();
        Assert.AreEqual(1L, pt.Pages, "the root");
        pt.Map(0x1000, 0x7000, 0x1000);
        Assert.AreEqual(4L, pt.Pages, "root, level 3, level 2, level 1 tables");
        pt.Map(0x2000, 0x9000, 0x2000);
        Assert.AreEqual(4L, pt.Pages, "same 2 MiB: same leaf table");
        pt.Map(0x4000_0000, 0x8000, 0x1000);
        Assert.AreEqual(6L, pt.Pages, "another 1 GiB: a level 2 and a level 1 table");
        pt.Map(0x20_0000, 0x40_0000, 0x20_0000);
        Assert.AreEqual(6L, pt.Pages, "a 2 MiB leaf in the existing level 2 table needs no table");
        Assert.AreEqual(1L, pt.LargeMaps);
        Assert.IsTrue(pt.IsLarge(0x20_1000));
        Assert.AreEqual(3, pt.WalkLevels(0x3f_f000));
        Assert.AreEqual(4, pt.WalkLevels(0x1000));
        pt.Map(0x60_0000, 0x41_0000, 0x20_0000);
        Assert.AreEqual(7L, pt.Pages, "paddr not 2 MiB aligned: 512 4 KiB leaves in a new table");
        Assert.AreEqual(1L, pt.LargeMaps);
        pt.Map(0x80_0000, IIommuPageTable.UnknownPaddr, 0x20_0000);
        Assert.AreEqual(8L, pt.Pages, "unknown pages: 4 KiB leaves");

        pt.Unmap(0x1000, 0x1000);
        Assert.AreEqual(8L, pt.Pages, "a 4 KiB unmap frees no table (dma_pte_clear_level frees only tables the range covers)");
        pt.Unmap(0x60_0000, 0x20_0000);
        Assert.AreEqual(7L, pt.Pages, "an unmap covering a leaf table's 2 MiB frees it");
        Assert.AreEqual(8L, pt.PeakPages);
    }

    [TestMethod]
    public void Table_levels_follow_the_address_width()
    {
        Assert.AreEqual(3, IoPageTable.LevelsFor((1UL << 39) - 1));
        Assert.AreEqual(4, IoPageTable.LevelsFor((1UL << 48) - 1));
        Assert.AreEqual(5, IoPageTable.LevelsFor((1UL << 57) - 1));
        Assert.AreEqual(3, IoPageTable.LevelsFor(uint.MaxValue), "VT-d has no 2-level table");
        var pt = new IoPageTable(3);
        pt.Map(0x1000, 0x7000, 0x1000);
        Assert.AreEqual(3L, pt.Pages);
        Assert.AreEqual(3, pt.WalkLevels(0x1000));
    }

    [TestMethod]
    public void Hardware_counts_lookups_walks_and_invalidations()
    {
        var hw = new IommuHardware(FourByTwo);
        var d = hw.Attach();
        d.Map(0x10_0000, 0x5000, 0x3000);       // 3 pages: 3 misses, 4-level walks
        Assert.AreEqual((3L, 0L, 3L, 12L), (d.Lookups, d.Hits, d.PageWalks, d.WalkLevelsRead));
        Assert.IsTrue(d.Access(0x10_1000), "still cached");
        d.Unmap(0x10_0000, 0x3000, strict: true); // one page-selective invalidation of 3 pages
        Assert.AreEqual((1L, 3L), (d.Invalidations, d.InvalidatedPages));
        Assert.IsFalse(d.Access(0x10_1000), "invalidated");

        d.Map(0x20_0000, 0x40_0000, 0x20_0000);   // a 2 MiB leaf: 512 touches, 1 miss (3-level walk), 511 hits
        Assert.AreEqual(4L + 1 + 512, d.Lookups);
        Assert.AreEqual(1L + 511, d.Hits);
        Assert.AreEqual(3L * 4 + 4 + 3, d.WalkLevelsRead);
        d.FlushAll();                             // lazy: domain-selective, drops what the domain holds
        Assert.AreEqual(2L, d.Invalidations);
        Assert.AreEqual(3L + 2, d.InvalidatedPages, "the 2 MiB entry and the re-filled 4 KiB page");
    }

    [TestMethod]
    public void Iotlb_never_holds_more_than_its_entries_and_hits_plus_misses_are_lookups()
    {
        var gen = from ways in Gen.Int[1, 4]
                  from sets in Gen.Int[1, 4]
                  from ops in Gen.Select(Gen.Int[0, 9], Gen.Int[1, 3], Gen.ULong[0, 40]).Array[1, 300]
                  select (ways, sets, ops);
        gen.Sample(t =>
        {
            var (ways, sets, ops) = t;
            var tlb = new Iotlb(new IotlbGeometry("p", ways * sets, ways));
            var model = new List<(int Did, ulong Page, long Used)>(); // a brute-force LRU per set
            long lookups = 0, hits = 0, clock = 0;
            foreach (var (op, did, page) in ops)
            {
                int set = (int)(page % (ulong)sets);
                if (op == 0)
                {
                    tlb.InvalidateDomain(did);
                    model.RemoveAll(e => e.Did == did);
                    continue;
                }
                lookups++;
                clock++;
                bool hit = tlb.Access(did, page, false);
                int i = model.FindIndex(e => e.Did == did && e.Page == page);
                Assert.AreEqual(i >= 0, hit);
                if (hit)
                {
                    hits++;
                    model[i] = (did, page, clock);
                }
                else
                {
                    var inSet = model.Where(e => (int)(e.Page % (ulong)sets) == set).ToList();
                    if (inSet.Count == ways) model.Remove(inSet.MinBy(e => e.Used));
                    model.Add((did, page, clock));
                }
                Assert.IsTrue(tlb.Count <= ways * sets);
                Assert.AreEqual(model.Count, tlb.Count);
            }
            Assert.AreEqual(lookups, hits + (lookups - hits));
        });
    }

    [TestMethod]
    public void Iotlb_settings_choose_a_preset_and_override_its_geometry()
    {
        var p = PlatformPresets.X86Default();
        Assert.AreEqual(IotlbGeometry.Vtd1024, p.Iommu.Iotlb);
        var q = PlatformSettings.Apply(p, ["iommu.iotlb=smmuv3-gem5", "iommu.iotlb.ways=8"]);
        Assert.AreEqual(new IotlbGeometry("smmuv3-gem5", 2048, 8), q.Iommu.Iotlb);
        Assert.IsTrue(PlatformSettings.IsHardwareOnly("iommu.iotlb.entries=64"));
        Assert.IsFalse(PlatformSettings.IsHardwareOnly("iommu.granule=4K"));
        Assert.ThrowsExactly<FormatException>(() => PlatformSettings.Apply(p, ["iommu.iotlb=nope"]));
    }

    [TestMethod]
    public void DeviceAccessModelsTouchPagesAtMapUnmapAndSync()
    {
        // One strict domain, a 2-page mapping, a sync of its second page, then the unmap.
        (long Lookups, long Hits) Run(DeviceAccess access)
        {
            var d = new IommuHardware(IotlbGeometry.Vtd1024, access).Attach();
            d.Map(0x10000, 0x4000_0000, 0x2000);
            d.Synced(0x11000, 0x100);
            d.Unmap(0x10000, 0x2000, strict: true);
            return (d.Lookups, d.Hits);
        }
        Assert.AreEqual((2L, 0L), Run(DeviceAccess.Map), "once per page at map: two misses");
        Assert.AreEqual((4L, 2L), Run(DeviceAccess.MapUnmap), "before the unmap's invalidation both pages are still cached");
        Assert.AreEqual((5L, 3L), Run(DeviceAccess.MapSyncUnmap), "the sync touches one page, a hit");
        Assert.AreEqual(DeviceAccess.MapSyncUnmap, DeviceAccessNames.Parse("map+sync+unmap"));
        Assert.ThrowsExactly<FormatException>(() => DeviceAccessNames.Parse("always"));
    }

    [TestMethod]
    public void DeviceAccessIsASettingOfThePlatformFileAndKeepsTheCapturesOwnPlatform()
    {
        var p = PlatformSettings.Apply(PlatformPresets.X86Default(), ["iommu.access=map+unmap"]);
        Assert.AreEqual(DeviceAccess.MapUnmap, p.Iommu.DeviceAccess);
        string path = Path.Combine(Path.GetTempPath(), $"dmareplay-access-{Guid.NewGuid():n}.json");
        PlatformJson.Write(p, path);
        var back = PlatformJson.Read(path);
        File.Delete(path);
        Assert.AreEqual(DeviceAccess.MapUnmap, back.Iommu.DeviceAccess);
        Assert.IsTrue(PlatformSettings.IsHardwareOnly("iommu.access=map+unmap"), "it changes no address");
    }
}

[TestClass]
public sealed class DeviceAccessReplayTests
{
    private static (long Lookups, long Hits, long InvalidatedPages, long Compared, long Exact) Replay(params string[] settings)
    {
        string dir = CliHarness.NewDir(), json = Path.Combine(dir, "s.json");
        var args = new List<string> { "replay", TestPaths.RealBundle("dev-iommu-strict"), "-o", dir, "--json", json, "--fail-on", "none" };
        foreach (var s in settings) args.AddRange(["--set", s]);
        var (code, _, err) = CliHarness.Run([.. args]);
        Assert.AreEqual(0, code, err);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(json));
        var hw = doc.RootElement.GetProperty("iommu").GetProperty("domains").EnumerateArray().Select(d => d.GetProperty("hardware")).ToList();
        var a = doc.RootElement.GetProperty("agreement").GetProperty("iommu");
        return (hw.Sum(h => h.GetProperty("lookups").GetInt64()), hw.Sum(h => h.GetProperty("hits").GetInt64()),
            hw.Sum(h => h.GetProperty("invalidatedPages").GetInt64()), a.GetProperty("compared").GetInt64(), a.GetProperty("exact").GetInt64());
    }

    [TestMethod]
    public void UnmapAccessesAddOneLookupPerUnmappedPageAndChangeNoIova()
    {
        var map = Replay();
        var mapUnmap = Replay("iommu.access=map+unmap");
        // Strict mode invalidates every unmapped page once: those are the pages the device touches before each unmap.
        Assert.AreEqual(map.Lookups + map.InvalidatedPages, mapUnmap.Lookups);
        Assert.IsGreaterThan(map.Hits, mapUnmap.Hits, "a page still cached from its map hits at the unmap");
        Assert.AreEqual((2750L, 2750L), (mapUnmap.Compared, mapUnmap.Exact), "the capture's own platform: every IOVA still exact");
    }
}
