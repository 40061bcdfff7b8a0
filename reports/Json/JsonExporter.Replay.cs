using System.Text.Json;
using DmaReplay.Engine.Replay;

namespace DmaReplay.Reports.Json;

/// <summary>
/// The keys a <c>replay</c> adds at the top level: "agreement", "swiotlb" (null without a pool),
/// "iommu" (only when a translated device mapped something), "coherency" (only with a non-coherent device) and "platform". The time series stay out of JSON; the CSV timeline and the HTML charts hold them.
/// </summary>
public sealed partial class JsonExporter
{
    private static void WriteReplay(Utf8JsonWriter w, ReplayReport replay)
    {
        WriteAgreement(w, replay.Agreement, replay.Pools);
        if (replay.Swiotlb is { } s) WriteSwiotlb(w, s);
        else w.WriteNull("swiotlb");
        if (replay.Iommu is { } iommu) WriteIommu(w, iommu);
        if (replay.Coherency is { } coherency) WriteCoherency(w, coherency);
        if (replay.Pools is { } pools) WritePools(w, pools);
        if (replay.Cost is { } cost) WriteCost(w, cost);
        var p = replay.Platform;
        w.WriteStartObject("platform");
        w.WriteString("name", p.Name);
        w.WriteBoolean("captureOwn", p.IsCaptureOwn);
        w.WriteNumber("cpus", p.Cpus);
        WriteStrings(w, "provenance", p.Provenance);
        w.WriteEndObject();
    }

    private static void WriteAgreement(Utf8JsonWriter w, AgreementReport a, Engine.Pools.PoolsReport? pools)
    {
        w.WriteStartObject("agreement");
        WriteTally(w, "direct", a.Direct);
        WriteTally(w, "swiotlb", a.Swiotlb);
        WriteTally(w, "iommu", a.Iommu);
        w.WriteStartObject("failures");
        w.WriteNumber("recorded", a.Failures.Recorded);
        w.WriteNumber("predicted", a.Failures.Predicted);
        w.WriteNumber("matched", a.Failures.Matched);
        if (a.Failures.ReleasesNotReplayed > 0) w.WriteNumber("releasesNotReplayed", a.Failures.ReleasesNotReplayed);
        w.WriteEndObject();
        w.WriteNumber("mismatchCount", a.MismatchCount);
        w.WriteStartArray("mismatches");
        foreach (var m in a.Mismatches)
        {
            w.WriteStartObject();
            w.WriteString("input", m.Input);
            w.WriteNumber("line", m.Line);
            w.WriteString("kind", m.Kind);
            w.WriteString("device", m.Device);
            w.WriteString("physAddr", ReportText.Hex(m.Phys));
            w.WriteNumber("size", m.Size);
            w.WriteString("recorded", ReportText.Hex(m.Recorded));
            w.WriteString("predicted", ReportText.Hex(m.Predicted));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (a.IommuPageTable is { } pt)
        {
            w.WriteStartObject("iommuPageTable");
            w.WriteNumber("compared", pt.Compared);
            w.WriteNumber("exact", pt.Exact);
            w.WriteStartObject("notCompared");
            foreach (var (reason, n) in pt.NotCompared) w.WriteNumber(reason, n);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("iommuPageTable");
        }
        // the allocators' addresses, only where something was compared: other replays' agreement is unchanged
        if (pools?.DmaPoolAgreement is { } dp) WriteTally(w, "dmaPool", dp);
        if (pools?.DevCoherentAgreement is { } dc) WriteTally(w, "devCoherent", dc);
        if (pools?.AtomicPoolAgreement is { } ap) WriteTally(w, "atomicPool", ap);
        w.WriteEndObject();
    }

    /// <summary>"pools": atomic_pool_size, the worker delay assumed, allocation failures, sources per device, atomic pools, dma_pools.</summary>
    private static void WritePools(Utf8JsonWriter w, Engine.Pools.PoolsReport p)
    {
        w.WriteStartObject("pools");
        w.WriteNumber("atomicPoolSize", p.AtomicPoolSize);
        w.WriteNumber("atomicPoolExpandDelayNs", p.ExpandDelayNs);
        w.WriteStartObject("allocationFailures");
        w.WriteNumber("recorded", p.AllocationFailures.Recorded);
        w.WriteNumber("predicted", p.AllocationFailures.Predicted);
        w.WriteNumber("matched", p.AllocationFailures.Matched);
        w.WriteEndObject();
        w.WriteStartArray("sources");
        foreach (var s in p.Sources)
        {
            w.WriteStartObject();
            w.WriteString("device", s.Device);
            w.WriteString("source", s.Source);
            w.WriteNumber("allocations", s.Allocations);
            w.WriteNumber("predictedFailures", s.PredictedFailures);
            w.WriteNumber("bytes", s.Bytes);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("atomicPools");
        foreach (var a in p.AtomicPools)
        {
            w.WriteStartObject();
            w.WriteString("zone", a.Zone);
            w.WriteString("gfp", a.Gfp);
            w.WriteNumber("initialBytes", a.InitialBytes);
            w.WriteNumber("sizeAtEnd", a.SizeAtEnd);
            w.WriteNumber("expansions", a.Expansions);
            w.WriteNumber("peakUsedBytes", a.PeakUsedBytes);
            w.WriteNumber("usedAtEnd", a.UsedAtEnd);
            w.WriteNumber("failures", a.Failures);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("dmaPools");
        foreach (var d in p.DmaPools)
        {
            w.WriteStartObject();
            w.WriteString("device", d.Device);
            w.WriteString("name", d.Name);
            w.WriteNumber("blockSize", d.BlockSize);
            w.WriteNumber("allocation", d.Allocation);
            w.WriteNumber("boundary", d.Boundary);
            w.WriteNumber("pages", d.Pages);
            w.WriteNumber("blocks", d.Blocks);
            w.WriteNumber("peakActive", d.PeakActive);
            w.WriteNumber("activeAtEnd", d.ActiveAtEnd);
            w.WriteBoolean("destroyed", d.Destroyed);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteIommu(Utf8JsonWriter w, IommuReport r)
    {
        w.WriteStartObject("iommu");
        w.WriteNumber("granule", r.Granule);
        w.WriteNumber("dacFallbacks", r.DacFallbacks);
        w.WriteNumber("bounces", r.Bounces);
        w.WriteStartArray("domains");
        foreach (var d in r.Domains)
        {
            w.WriteStartObject();
            w.WriteString("domain", d.Domain);
            w.WriteString("mode", d.Mode);
            WriteStrings(w, "devices", d.Devices);
            w.WriteNumber("allocations", d.Allocations);
            w.WriteNumber("rcacheHits", d.RcacheHits);
            w.WriteNumber("treeAllocations", d.TreeAllocations);
            w.WriteNumber("failures", d.Failures);
            w.WriteNumber("rcacheFlushes", d.RcacheFlushes);
            w.WriteNumber("peakMappedBytes", d.PeakMappedBytes);
            w.WriteNumber("peakHeldBytes", d.PeakTreeBytes);
            if (d.LowestIova is { } low) w.WriteString("lowestIova", ReportText.Hex(low));
            else w.WriteNull("lowestIova");
            w.WriteNumber("mappedAtEndBytes", d.MappedAtEndBytes);
            w.WriteNumber("timerFlushes", d.TimerFlushes);
            w.WriteNumber("fullQueueFlushes", d.FullQueueFlushes);
            w.WriteNumber("witnessedFlushes", d.WitnessedFlushes);
            w.WriteNumber("migratedFlushes", d.MigratedFlushes);
            w.WriteNumber("depotPushes", d.DepotPushes);
            w.WriteNumber("depotTrims", d.DepotTrims);
            if (d.Hardware is { } h)
            {
                w.WriteStartObject("hardware");
                w.WriteString("iotlb", h.Iotlb);
                w.WriteNumber("iotlbEntries", h.IotlbEntries);
                w.WriteNumber("iotlbWays", h.IotlbWays);
                w.WriteNumber("lookups", h.Lookups);
                w.WriteNumber("hits", h.Hits);
                w.WriteNumber("misses", h.Misses);
                w.WriteNumber("hitRate", Math.Round(h.HitRate, 6));
                w.WriteNumber("pageWalks", h.PageWalks);
                w.WriteNumber("walkLevelsRead", h.WalkLevelsRead);
                w.WriteNumber("invalidations", h.Invalidations);
                w.WriteNumber("invalidatedPages", h.InvalidatedPages);
                w.WriteNumber("pageTablePagesPeak", h.PageTablePagesPeak);
                w.WriteNumber("pageTablePagesAtEnd", h.PageTablePagesAtEnd);
                w.WriteNumber("largePageMaps", h.LargePageMaps);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("hardware");
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteTally(Utf8JsonWriter w, string name, Tally t)
    {
        w.WriteStartObject(name);
        w.WriteNumber("compared", t.Compared);
        w.WriteNumber("exact", t.Exact);
        w.WriteEndObject();
    }

    private static void WriteSwiotlb(Utf8JsonWriter w, SwiotlbReport s)
    {
        w.WriteStartObject("swiotlb");
        w.WriteString("poolStart", ReportText.Hex(s.PoolStart));
        w.WriteString("poolSource", s.PoolSource);
        w.WriteNumber("nslabs", s.Nslabs);
        w.WriteNumber("nareas", s.Nareas);
        w.WriteBoolean("force", s.Force);
        w.WriteNumber("usedAtEnd", s.UsedAtEnd);
        WriteNullable(w, "recordedUsedAtEnd", s.RecordedUsedAtEnd);
        w.WriteNumber("usedHiwater", s.UsedHiwater);
        WriteNullable(w, "recordedHiwater", s.RecordedHiwater);
        w.WriteNumber("mapFailures", s.MapFailures);
        w.WriteStartObject("bouncedBytes");
        w.WriteNumber("toDevice", s.Bytes.ToDevice);
        w.WriteNumber("fromDevice", s.Bytes.FromDevice);
        w.WriteStartObject("byOperation");
        w.WriteNumber("map", s.Bytes.Map);
        w.WriteNumber("unmap", s.Bytes.Unmap);
        w.WriteNumber("syncForDevice", s.Bytes.SyncForDevice);
        w.WriteNumber("syncForCpu", s.Bytes.SyncForCpu);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteNumber("bounceCopies", s.BounceCopies);
        w.WriteNumber("searches", s.Searches);
        w.WriteNumber("searchSteps", s.SearchSteps);
        w.WriteNumber("maxSearchSteps", s.MaxSearchSteps);
        w.WriteStartArray("areas");
        foreach (var a in s.Areas)
        {
            w.WriteStartObject();
            w.WriteNumber("area", a.Area);
            w.WriteNumber("used", a.Used);
            w.WriteNumber("index", a.Index);
            WriteNullable(w, "recordedUsed", a.RecordedUsed);
            WriteNullable(w, "recordedIndex", a.RecordedIndex);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("devices");
        foreach (var d in s.Devices)
        {
            w.WriteStartObject();
            w.WriteString("device", d.Device);
            w.WriteNumber("bounces", d.Bounces);
            w.WriteNumber("failures", d.Failures);
            w.WriteNumber("bytesToDevice", d.BytesToDevice);
            w.WriteNumber("bytesFromDevice", d.BytesFromDevice);
            w.WriteNumber("peakSlots", d.PeakSlots);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
