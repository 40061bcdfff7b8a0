using BenchmarkDotNet.Attributes;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Csv;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Input;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Parquet;

namespace DmaReplay.Benchmarks;

/// <summary>
/// The benchmark trace's events as CSV and Parquet (converted once per process, held in memory),
/// and their sizes for the throughput columns.
/// </summary>
public static class FormatInputs
{
    private static readonly Lazy<byte[]> CsvData = new(() => Convert(TraceFormat.Csv));
    private static readonly Lazy<byte[]> ParquetData = new(() => Convert(TraceFormat.Parquet));
    private static readonly Lazy<long> EventCount = new(() =>
    {
        var counter = new CountingHandler();
        new ParquetEventReader(new TraceStrings(), counter).Read(new MemoryStream(Parquet), "bench", 0);
        return counter.Count;
    });

    public static byte[] Csv => CsvData.Value;
    public static byte[] Parquet => ParquetData.Value;
    public static long Events => EventCount.Value;

    private static byte[] Convert(TraceFormat format)
    {
        var output = new MemoryStream();
        var strings = new TraceStrings();
        using (var writer = TraceFiles.CreateWriter(format, output, strings))
            new FtraceTextReader(strings, writer).Read(new MemoryStream(BenchTrace.Bytes, writable: false), "bench", 0);
        return output.ToArray();
    }

    internal sealed class CountingHandler : ITraceEventHandler
    {
        public long Count;
        public void OnEvent(DmaEvent e) => Count++;
    }
}

/// <summary>
/// CSV of the benchmark trace's events: reading (CsvEventReader with a counting handler), and
/// writing fed by the Parquet reader (subtract ParquetBenchmarks.Read for the writer alone).
/// MB/s is over the CSV bytes.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class CsvBenchmarks
{
    public static long InputBytes => FormatInputs.Csv.LongLength;
    public static long InputEvents => FormatInputs.Events;
    private byte[] _csv = [], _parquet = [];

    [GlobalSetup]
    public void Setup() => (_csv, _parquet) = (FormatInputs.Csv, FormatInputs.Parquet);

    [Benchmark]
    public long CsvRead()
    {
        var counter = new FormatInputs.CountingHandler();
        var stats = new CsvEventReader(new TraceStrings(), counter).Read(new MemoryStream(_csv, writable: false), "bench", 0);
        if (stats.Malformed != 0 || stats.ReadError is not null) throw new InvalidOperationException("bad benchmark input");
        return counter.Count;
    }

    [Benchmark]
    public long ParquetReadCsvWrite()
    {
        var strings = new TraceStrings();
        using var writer = new CsvEventWriter(Stream.Null, strings);
        new ParquetEventReader(strings, writer).Read(new MemoryStream(_parquet, writable: false), "bench", 0);
        return writer.Events;
    }
}

/// <summary>Parquet of the benchmark trace's events: reading, and writing fed by the Parquet reader. MB/s is over the Parquet bytes.</summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class ParquetBenchmarks
{
    public static long InputBytes => FormatInputs.Parquet.LongLength;
    public static long InputEvents => FormatInputs.Events;
    private byte[] _parquet = [];
    private readonly MemoryStream _output = new();

    [GlobalSetup]
    public void Setup() => _parquet = FormatInputs.Parquet;

    [Benchmark]
    public long ParquetRead()
    {
        var counter = new FormatInputs.CountingHandler();
        var stats = new ParquetEventReader(new TraceStrings(), counter).Read(new MemoryStream(_parquet, writable: false), "bench", 0);
        if (stats.Malformed != 0 || stats.ReadError is not null) throw new InvalidOperationException("bad benchmark input");
        return counter.Count;
    }

    [Benchmark]
    public long ParquetReadParquetWrite()
    {
        _output.SetLength(0);
        var strings = new TraceStrings();
        using var writer = new ParquetEventWriter(_output, strings);
        new ParquetEventReader(strings, writer).Read(new MemoryStream(_parquet, writable: false), "bench", 0);
        return writer.Events;
    }
}
