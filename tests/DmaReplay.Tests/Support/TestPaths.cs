namespace DmaReplay.Tests.Support;

/// <summary>Locates the repository's corpus from the test's output folder.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string Traces(params string[] parts) => Path.Combine([RepoRoot, "traces", .. parts]);

    public static string RealBundle(string name) => Traces("real", name);

    public static readonly string[] RealBundles =
    [
        "dev-direct", "dev-fence-sw-sync", "dev-iommu-lazy", "dev-iommu-strict",
        "dev-stacktrace", "dev-swiotlb-force-2m", "dev-swiotlb-force-default",
    ];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DmaReplay.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("DmaReplay.sln not found above " + AppContext.BaseDirectory);
    }
}
