using System.Diagnostics;
using System.Globalization;

namespace DmaReplay.Benchmarks;

/// <summary>Repeats one benchmark body for a fixed time and prints its throughput; no BenchmarkDotNet harness in the way of a profiler.</summary>
public static class ProfileLoop
{
    public static void Run(double seconds, string which)
    {
        var bench = new ReaderBenchmarks();
        bench.Setup();
        Func<long> body = which switch
        {
            "summary" => () => bench.ReaderAndSummary(),
            "scan" => bench.MinimalSpanScan,
            _ => bench.Reader,
        };
        body(); // tier up before timing
        var sw = Stopwatch.StartNew();
        int runs = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            body();
            runs++;
        }
        double s = sw.Elapsed.TotalSeconds / runs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{which}: {runs} runs, {s * 1e3:F1} ms/run, {BenchTrace.Bytes.Length / s / 1e6:F0} MB/s, {s * 1e9 / BenchTrace.EventLines:F1} ns/event"));
    }
}
