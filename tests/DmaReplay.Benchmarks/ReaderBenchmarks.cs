using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using DmaReplay.Engine.Summary;
using DmaReplay.Parsers;
using DmaReplay.Parsers.Ftrace;
using DmaReplay.Parsers.Model;

namespace DmaReplay.Benchmarks;

/// <summary>
/// Throughput of the ftrace text path over 1,000,000 synthetic event lines held in memory, so
/// the disk is out of the picture: (a) FtraceTextReader alone, (b) with the summary engine, and
/// (c) a minimal span scan of the same bytes as the floor any line-oriented reader pays.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class ReaderBenchmarks
{
    private byte[] _trace = [];

    [GlobalSetup]
    public void Setup() => _trace = BenchTrace.Bytes;

    /// <summary>Another input, for <see cref="ProfileLoop"/>.</summary>
    internal void SetTrace(byte[] trace) => _trace = trace;

    internal long TraceLength => _trace.LongLength;
    internal long TraceLines => _trace.AsSpan().Count((byte)'\n');

    /// <summary>(a) The reader with a handler that only counts.</summary>
    [Benchmark]
    public long Reader()
    {
        var handler = new CountingHandler();
        var stats = new FtraceTextReader(new TraceStrings(), handler).Read(Open(), "bench", 0);
        if (stats.Malformed != 0) throw new InvalidOperationException("benchmark input has malformed lines");
        return handler.Count;
    }

    /// <summary>(b) The reader feeding the per-device summary (live mappings, series).</summary>
    [Benchmark]
    public int ReaderAndSummary()
    {
        var builder = new TraceSummaryBuilder();
        new FtraceTextReader(new TraceStrings(), builder).Read(Open(), "bench", 0);
        return builder.Devices.Count();
    }

    /// <summary>
    /// (c) Baseline: frame lines with a vectorized newline search and find each event name with
    /// two more span searches, counting names by a tiny hash. No field is decoded.
    /// </summary>
    [Benchmark(Baseline = true)]
    public long MinimalSpanScan()
    {
        Span<long> counts = stackalloc long[64];
        ReadOnlySpan<byte> s = _trace;
        long lines = 0;
        while (!s.IsEmpty)
        {
            int nl = s.IndexOf((byte)'\n');
            var line = nl < 0 ? s : s[..nl];
            s = nl < 0 ? default : s[(nl + 1)..];
            lines++;
            if (line.IsEmpty || line[0] == '#') continue;
            int ts = line.IndexOf(": "u8); // "comm-pid [cpu] flags ts: name: body"
            if (ts < 0) continue;
            var rest = line[(ts + 2)..];
            int colon = rest.IndexOf((byte)':');
            if (colon <= 0) continue;
            counts[(colon * 7 + rest[colon - 1]) & 63]++;
        }
        long sum = 0;
        foreach (long c in counts) sum += c;
        return lines + sum;
    }

    private MemoryStream Open() => new(_trace, writable: false);

    private sealed class CountingHandler : ITraceEventHandler
    {
        public long Count;
        public void OnEvent(DmaEvent e) => Count++;
    }
}

/// <summary>The MB/s, ns/event and B/event columns over <see cref="BenchTrace"/>.</summary>
public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig()
    {
        AddColumn(new ThroughputColumn(ThroughputColumn.Metric.MegabytesPerSecond));
        AddColumn(new ThroughputColumn(ThroughputColumn.Metric.NanosecondsPerEvent));
        AddColumn(new ThroughputColumn(ThroughputColumn.Metric.AllocatedBytesPerEvent));
        AddColumn(new ThroughputColumn(ThroughputColumn.Metric.EventsPerSecond));
    }
}

