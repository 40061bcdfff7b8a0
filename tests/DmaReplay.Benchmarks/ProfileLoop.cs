using System.Diagnostics;
using System.Globalization;

namespace DmaReplay.Benchmarks;

/// <summary>
/// Repeats one benchmark body for a fixed time and prints its throughput, with no
/// BenchmarkDotNet harness in the way of an external profiler. Optionally over a trace file
/// (read into memory first) instead of the synthetic benchmark trace, e.g. to cost one line type.
/// The process CPU time per line is printed too: on a machine shared with other work it moves
/// less than the elapsed time (the GC's background threads are in it).
/// </summary>
public static class ProfileLoop
{
    public static void Run(double seconds, string which, string? file)
    {
        var bench = new ReaderBenchmarks();
        if (file is null) bench.Setup();
        else bench.SetTrace(File.ReadAllBytes(file));
        var replay = new ReplayBenchmarks();
        if (which.StartsWith("replay", StringComparison.Ordinal)) replay.Setup();
        var csv = new CsvBenchmarks();
        var parquet = new ParquetBenchmarks();
        if (which.StartsWith("csv", StringComparison.Ordinal)) csv.Setup();
        if (which.StartsWith("parquet", StringComparison.Ordinal)) parquet.Setup();
        Func<long> body = which switch
        {
            "summary" => () => bench.ReaderAndSummary(),
            "scan" => bench.MinimalSpanScan,
            "replay-direct" => replay.ReplayDirect,
            "replay-swiotlb" => replay.ReplaySwiotlbForced,
            "replay-iommu" => replay.ReplayIommuStrictIotlb,
            "csv" => csv.CsvRead,
            "csv-write" => csv.ParquetReadCsvWrite,
            "parquet" => parquet.ParquetRead,
            "parquet-write" => parquet.ParquetReadParquetWrite,
            _ => bench.Reader,
        };
        bool format = which.StartsWith("csv", StringComparison.Ordinal) || which.StartsWith("parquet", StringComparison.Ordinal);
        body(); // tier up before timing
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        int runs = 0;
        double fastest = double.MaxValue;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            long t0 = Stopwatch.GetTimestamp();
            body();
            fastest = Math.Min(fastest, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            runs++;
        }
        double s = sw.Elapsed.TotalSeconds / runs;
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / runs;
        if (which.StartsWith("replay", StringComparison.Ordinal)) replay.Cleanup();
        long bytes = !format ? bench.TraceLength : which.StartsWith("csv", StringComparison.Ordinal) ? CsvBenchmarks.InputBytes : ParquetBenchmarks.InputBytes;
        long lines = format ? FormatInputs.Events : bench.TraceLines;
        // The fastest run too: on a shared machine it is the steadier figure to compare builds by.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{which}: {runs} runs, {s * 1e3:F1} ms/run, {bytes / s / 1e6:F0} MB/s, {s * 1e9 / lines:F1} ns/line, {(double)bytes / lines:F0} bytes/line, fastest {fastest * 1e9 / lines:F1} ns/line, CPU {cpu * 1e9 / lines:F1} ns/line"));
    }
}
