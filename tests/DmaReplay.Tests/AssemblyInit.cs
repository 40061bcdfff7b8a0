using System.Globalization;

[assembly: Parallelize(Scope = ExecutionScope.ClassLevel)]

namespace DmaReplay.Tests;

[TestClass]
public static class AssemblyInit
{
    /// <summary>Culture-proof output: every test runs under the invariant culture unless it sets its own.</summary>
    [AssemblyInitialize]
    public static void Init(TestContext _)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
    }
}
