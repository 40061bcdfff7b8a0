using System.Text;
using CsCheck;
using DmaReplay.Engine;
using DmaReplay.Engine.Inputs;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Synthetic;
using DmaReplay.Tests.Support;

namespace DmaReplay.Tests.Formats;

/// <summary>
/// The events formats (docs/synthetic-format.md): text → CSV → Parquet → text keeps every event
/// of the bundled traces; random events of every kind survive each format; bad CSV rows are
/// reported and the rest read; other schema versions are refused; check finds the same on a
/// trace and on its conversions (one reader interface, many formats: style note 7).
/// </summary>
[TestClass]
public sealed partial class EventFormatTests
{
    [System.Text.RegularExpressions.GeneratedRegex(@"line \d+")]
    private static partial System.Text.RegularExpressions.Regex LineNumbers();

    public static IEnumerable<object[]> BundledTraces() =>
        TestPaths.RealBundles.Select(b => new object[] { Path.Combine("real", b, "trace.txt") })
            .Append(["edge/all-events.trace"]).Append(["edge/pipe-tgid-crlf.trace"]).Append(["edge/trace-cmd-report.trace"])
            .Append(["synthetic/mixed.trace"]).Append(["synthetic/pools.trace"]).Append(["synthetic/atomic-pool-pressure.trace"])
            .Append(["synthetic/leak-at-unbind.trace"]).Append(["synthetic/noncoherent-correct.trace"])
            .Append(["synthetic/noncoherent-cacheline-overlap.trace"]);

    [TestMethod]
    [DynamicData(nameof(BundledTraces))]
    public void TextToCsvToParquetToTextKeepsEveryEvent(string trace)
    {
        var text = File.ReadAllBytes(TestPaths.Traces(trace.Split('/')));
        var original = EventFormats.Read(TraceFormat.Ftrace, text);
        Assert.IsTrue(original.Events.Count > 0);

        var csv = EventFormats.Convert(TraceFormat.Ftrace, text, TraceFormat.Csv);
        var parquet = EventFormats.Convert(TraceFormat.Csv, csv, TraceFormat.Parquet);
        var back = EventFormats.Convert(TraceFormat.Parquet, parquet, TraceFormat.Ftrace);

        foreach (var (format, bytes) in new[] { (TraceFormat.Csv, csv), (TraceFormat.Parquet, parquet), (TraceFormat.Ftrace, back) })
        {
            var read = EventFormats.Read(format, bytes);
            Assert.AreEqual(0L, read.Stats.Malformed, format + ": " + string.Join("\n", read.Stats.Diagnostics));
            Assert.AreEqual(original.Events.Count, read.Events.Count, format.ToString());
            for (int i = 0; i < original.Events.Count; i++) Assert.AreEqual(original.Events[i], read.Events[i], $"{format}, event {i}");
        }
        // And text written from text is a fixed point: the same events give the same bytes.
        Assert.AreEqual(Encoding.UTF8.GetString(back), Encoding.UTF8.GetString(EventFormats.Convert(TraceFormat.Ftrace, back, TraceFormat.Ftrace)));
    }

    [TestMethod]
    public void RandomEventsOfEveryKindSurviveEachFormat()
    {
        var gen = Gen.Select(Gen.Int[0, DmaEventKinds.Count - 1], Gen.Int).Array[1, 40];
        gen.Sample(specs =>
        {
            var strings = new TraceStrings();
            var events = specs.Select(s => RandomEvents.Make((DmaEventKind)s.Item1, new Random(s.Item2), strings)).ToList();
            var expected = events.Select(e => EventFormats.Describe(e, strings)).ToList();
            foreach (var format in new[] { TraceFormat.Csv, TraceFormat.Parquet, TraceFormat.Ftrace })
            {
                var bytes = EventFormats.Write(format, events, strings);
                var read = EventFormats.Read(format, bytes);
                Assert.AreEqual(0L, read.Stats.Malformed, format + ": " + string.Join("\n", read.Stats.Diagnostics));
                CollectionAssert.AreEqual(expected, read.Events, format.ToString());
            }
        }, iter: 300);
    }

    [TestMethod]
    public void CsvTextCellsAreGuardedAgainstFormulasAndReadBackExactly()
    {
        var strings = new TraceStrings();
        var e = new DmaEvent();
        e.Reset();
        e.Kind = DmaEventKind.DeviceUnbind;
        e.TimestampNs = 1_000;
        e.Task = strings.Tasks.Intern("=cmd|' /C calc'!A0");
        e.Device = strings.Devices.Intern("-dev");
        e.Driver = strings.Text.Intern("'quoted");
        e.Flags = TraceContextFlags.NoFlagColumn;
        var csv = Encoding.UTF8.GetString(EventFormats.Write(TraceFormat.Csv, [e], strings));
        var row = csv.Split('\n')[2];
        Assert.AreEqual("device_unbind,1000,0,0,,\"'=cmd|' /C calc'!A0\",,\"'-dev\",,,,,,,,,,,,,,,,,,,,''quoted,,,,,,,,,", row);
        var read = EventFormats.Read(TraceFormat.Csv, Encoding.UTF8.GetBytes(csv));
        Assert.AreEqual(EventFormats.Describe(e, strings), read.Events.Single());
    }

    [TestMethod]
    public void MalformedCsvRowsAreReportedWithLineAndReasonAndTheRestRead()
    {
        string header = "#dmareplay-events v1\nkind,timestamp_ns,cpu,pid,task,device,dir,dma_addr,size\n";
        string csv = header +
            "dma_map_page,100,0,1,t,0000:00:02.0,TO_DEVICE,1000,4096\n" +        // line 3: good
            "dma_map_page,200,0,1,t,0000:00:02.0,TO_DEVICE,xyz,4096\n" +         // line 4: bad hex
            "dma_bogus,300,0,1,t,0000:00:02.0,TO_DEVICE,1000,4096\n" +           // line 5: unknown kind
            "dma_map_page,400,0,1,t,0000:00:02.0,TO_DEVICE\n" +                  // line 6: a column missing
            "dma_map_page,500,0,1,t,0000:00:02.0,SIDEWAYS,1000,4096\n" +         // line 7: bad direction
            "dma_unmap_page,600,0,1,t,0000:00:02.0,TO_DEVICE,1000,4096\n";       // line 8: good
        var r = EventFormats.Read(TraceFormat.Csv, Encoding.UTF8.GetBytes(csv), "bad.csv");
        Assert.AreEqual(2L, r.Stats.Events);
        Assert.AreEqual(4L, r.Stats.Malformed);
        Assert.AreEqual(8L, r.Stats.Lines);
        Assert.AreEqual(r.Stats.Lines, r.Stats.AccountedLines);
        var d = r.Stats.Diagnostics;
        Assert.AreEqual("bad.csv:4 (offset 133): dma_addr: bad hex value 'xyz': dma_map_page,200,0,1,t,0000:00:02.0,TO_DEVICE,xyz,4096", d[0].ToString());
        Assert.AreEqual(5L, d[1].Line);
        Assert.AreEqual("kind: unknown event kind 'dma_bogus'", d[1].Reason);
        Assert.AreEqual(6L, d[2].Line);
        Assert.AreEqual("the row has another number of fields than the header (a missing or extra column)", d[2].Reason);
        Assert.AreEqual(7L, d[3].Line);
        Assert.AreEqual("dir: unknown direction 'SIDEWAYS'", d[3].Reason);
        StringAssert.StartsWith(r.Events[1], "dma_unmap_page ts=600 ");
    }

    [TestMethod]
    public void OtherSchemaVersionsAndForeignFilesAreRefusedWithTheReason()
    {
        var csv = EventFormats.Read(TraceFormat.Csv, Encoding.UTF8.GetBytes("#dmareplay-events v2\nkind,timestamp_ns\n"));
        Assert.AreEqual("events schema version '2' is not supported (this dmareplay reads v1)", csv.Stats.ReadError);
        var plain = EventFormats.Read(TraceFormat.Csv, Encoding.UTF8.GetBytes("kind,timestamp_ns\n"));
        Assert.AreEqual("not a dmareplay events CSV: the first line must be '#dmareplay-events v1'", plain.Stats.ReadError);
        var column = EventFormats.Read(TraceFormat.Csv, Encoding.UTF8.GetBytes("#dmareplay-events v1\nkind,timestamp_ns,colour\n"));
        Assert.AreEqual("line 2: column 'colour' is not in events schema v1", column.Stats.ReadError);

        var parquet = EventFormats.Convert(TraceFormat.Ftrace, File.ReadAllBytes(TestPaths.Traces("edge", "all-events.trace")), TraceFormat.Parquet);
        var v9 = RewriteVersion(parquet, "9");
        Assert.AreEqual("events schema version '9' is not supported (this dmareplay reads v1)", EventFormats.Read(TraceFormat.Parquet, v9).Stats.ReadError);
    }

    [TestMethod]
    public async Task ParquetChunksAreLz4ExceptTimestampsAndAddressesThatVary()
    {
        var text = File.ReadAllBytes(TestPaths.Traces("synthetic", "mixed.trace"));
        var parquet = EventFormats.Convert(TraceFormat.Ftrace, text, TraceFormat.Parquet);
        await using var reader = await global::Parquet.ParquetReader.CreateAsync(new MemoryStream(parquet));
        string[] highEntropy = ["timestamp_ns", "dma_addr", "phys_addr", "virt_addr", "phys_addrs", "dma_addrs"];
        int uncompressed = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            var rg = reader.OpenRowGroupReader(g);
            foreach (var field in reader.Schema.DataFields)
            {
                var meta = rg.GetMetadata(field)!.MetaData!;
                var stats = rg.GetStatistics(field);
                bool varies = field.IsArray ? meta.NumValues > rg.RowCount || stats?.NullCount != rg.RowCount
                    : stats is null || !Equals(stats.MinValue, stats.MaxValue);
                var expected = highEntropy.Contains(field.Name) && varies ? global::Parquet.Meta.CompressionCodec.UNCOMPRESSED : global::Parquet.Meta.CompressionCodec.LZ4_RAW;
                Assert.AreEqual(expected, meta.Codec, $"row group {g}, {field.Name}");
                if (expected == global::Parquet.Meta.CompressionCodec.UNCOMPRESSED) uncompressed++;
            }
        }
        Assert.IsTrue(uncompressed >= 4, "the mixed trace's timestamps and addresses vary");
    }

    [TestMethod]
    public async Task ParquetColumnsLeftOutTakeTheirDefaultsAndIdsOutsideTheDictionaryAreMalformedRows()
    {
        // kind and timestamp_ns only, as another tool might write them: a kind id past the
        // dictionary and one naming no kind are malformed rows (numbered from 1), the rest are read.
        var kind = new global::Parquet.Schema.DataField<int>("kind", false);
        var timestamp = new global::Parquet.Schema.DataField<long>("timestamp_ns", false);
        var output = new MemoryStream();
        await using (var writer = await global::Parquet.ParquetWriter.CreateAsync(new global::Parquet.Schema.ParquetSchema(kind, timestamp), output))
        {
            writer.CustomMetadata = new Dictionary<string, string> { [EventSchema.ParquetVersionKey] = "1" };
            using var rg = writer.CreateRowGroup();
            await rg.WriteAsync<int>(kind, new[] { 0, 2, 1, 0 }, null, new() { ["dmareplay.dictionary"] = "[\"device_unbind\",\"bogus\"]" }, default);
            await rg.WriteAsync<long>(timestamp, new long[] { 10, 20, 30, 40 }, null, null!, default);
            rg.CompleteValidate();
        }
        var read = EventFormats.Read(TraceFormat.Parquet, output.ToArray(), "few.parquet");
        Assert.IsNull(read.Stats.ReadError, read.Stats.ReadError);
        Assert.AreEqual(2L, read.Stats.Events);
        Assert.AreEqual(2L, read.Stats.Malformed);
        Assert.AreEqual("kind: id 2 is not in the row group's dictionary", read.Stats.Diagnostics[0].Reason);
        Assert.AreEqual(2L, read.Stats.Diagnostics[0].Line);
        Assert.AreEqual("kind: unknown event kind 'bogus'", read.Stats.Diagnostics[1].Reason);
        Assert.AreEqual(3L, read.Stats.Diagnostics[1].Line);
        var e = new DmaEvent();
        e.Reset();
        e.Kind = DmaEventKind.DeviceUnbind;
        e.TimestampNs = 40;
        e.Task = read.Strings.Tasks.Intern("");
        StringAssert.StartsWith(read.Events[1], "device_unbind ts=40 ");
        Assert.AreEqual(EventFormats.Describe(e, read.Strings), read.Events[1]);
    }

    /// <summary>The same file with another version in its metadata (same length, so the footer offsets hold).</summary>
    private static byte[] RewriteVersion(byte[] parquet, string version)
    {
        var key = Encoding.ASCII.GetBytes(EventSchema.ParquetVersionKey);
        int at = parquet.AsSpan().LastIndexOf(key);
        Assert.IsTrue(at > 0);
        var copy = (byte[])parquet.Clone();
        int value = copy.AsSpan(at).IndexOf((byte)'1');
        copy[at + value] = (byte)version[0];
        return copy;
    }

    [TestMethod]
    public void CheckFindsTheSameOnATraceAndOnItsCsvAndParquetConversions()
    {
        var dir = CliHarness.NewDir();
        var trace = TestPaths.Traces("synthetic", "mixed.trace");
        var csv = Path.Combine(dir, "mixed.csv");
        var parquet = Path.Combine(dir, "mixed.parquet");
        File.WriteAllBytes(csv, EventFormats.Convert(TraceFormat.Ftrace, File.ReadAllBytes(trace), TraceFormat.Csv));
        File.WriteAllBytes(parquet, EventFormats.Convert(TraceFormat.Csv, File.ReadAllBytes(csv), TraceFormat.Parquet));

        string[] Findings(string path)
        {
            var summary = new CheckRun().Run(InputResolver.Resolve([path]));
            Assert.IsNull(summary.Inputs[0].ReadError);
            return summary.Findings.Select(f => $"{f.Rule} {f.Severity} {f.Device} {f.DmaAddr:x} {f.Size} {f.Direction} {f.TimestampNs} {f.Cpu} {f.Pid} {f.Task} " +
                $"{f.Related?.TimestampNs} {string.Join(">", f.Stack)} {LineNumbers().Replace(f.Message, "line #")}").ToArray();
        }
        // Line numbers are the input's own (a CSV row, a Parquet row number): the rest must agree.
        var expected = Findings(trace);
        Assert.IsTrue(expected.Length > 10, "the mixed trace has injected misuse");
        foreach (var converted in new[] { csv, parquet })
        {
            var actual = Findings(converted);
            Assert.AreEqual(expected.Length, actual.Length, converted);
            for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], actual[i], $"{converted}, finding {i}");
        }
    }

    [TestMethod]
    public void ConvertCommandWritesEachFormatAndReadsItBack()
    {
        var dir = CliHarness.NewDir();
        var bundle = TestPaths.RealBundle("dev-direct");
        var csv = Path.Combine(dir, "t.csv.gz");
        var parquet = Path.Combine(dir, "t.parquet");
        var text = Path.Combine(dir, "t.txt");
        var original = EventFormats.ReadFile(Path.Combine(bundle, "trace.txt"));

        var (code, stdout, stderr) = CliHarness.Run("convert", bundle, csv);
        Assert.AreEqual(0, code, stderr);
        StringAssert.StartsWith(stdout, $"read {Path.Combine(bundle, "trace.txt")} (ftrace): ");
        StringAssert.Contains(stdout, $"= {original.Events.Count:N0} events + ");
        StringAssert.Contains(stdout, $"wrote {csv} (csv): {original.Events.Count:N0} events, ");
        Assert.AreEqual(0, CliHarness.Run("convert", csv, parquet).Code);
        Assert.AreEqual(0, CliHarness.Run("convert", parquet, text).Code);
        foreach (var path in new[] { csv, parquet, text })
            CollectionAssert.AreEqual(original.Events, EventFormats.ReadFile(path).Events, path);

        var bad = CliHarness.Run("convert", bundle, Path.Combine(dir, "t.json"));
        Assert.AreEqual(2, bad.Code);
        StringAssert.Contains(bad.Err, "the output's extension must be");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "t.json")));
    }
}
