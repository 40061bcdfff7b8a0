using BenchmarkDotNet.Running;
using DmaReplay.Benchmarks;

// "loop <seconds> [reader|summary|scan|csv|csv-write|parquet|parquet-write] [trace file]": run one benchmark body over the in-memory
// benchmark trace (or a file) for a while, for an external sampling profiler (perf with
// DOTNET_PerfMapEnabled=1, dotnet-trace).
if (args.Length >= 2 && args[0] == "loop")
{
    ProfileLoop.Run(double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture),
        args.Length > 2 ? args[2] : "reader", args.Length > 3 ? args[3] : null);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
