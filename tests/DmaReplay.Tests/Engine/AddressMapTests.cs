using CsCheck;
using DmaReplay.Engine;

namespace DmaReplay.Tests.Engine;

[TestClass]
public sealed class AddressMapTests
{
    [TestMethod]
    public void AgreesWithADictionaryUnderRandomAddsAndRemoves()
    {
        // Few distinct keys, clustered like pages and cache lines, so probe runs collide, wrap
        // around the table and get shifted back by removals; the table grows from its minimum.
        Gen.Int[0, int.MaxValue].Sample(seed =>
        {
            var rng = new Random(seed);
            var map = new AddressMap<long>(1);
            var reference = new Dictionary<ulong, long>();
            ulong[] bases = [0, 0x1000, 0xffff_ffff_ffff_f000, 0x8000_0000_0000_0000];
            for (int step = 0; step < 2000; step++)
            {
                ulong key = bases[rng.Next(bases.Length)] + (ulong)rng.Next(0, 64) * 0x40;
                switch (rng.Next(3))
                {
                    case 0:
                        ref long v = ref map.GetValueRefOrAddDefault(key, out bool exists);
                        Assert.AreEqual(reference.ContainsKey(key), exists);
                        v += step;
                        reference[key] = reference.GetValueOrDefault(key) + step;
                        break;
                    case 1:
                        Assert.AreEqual(reference.Remove(key), map.Remove(key));
                        break;
                    default:
                        ref long found = ref map.GetValueRefOrNullRef(key);
                        Assert.AreEqual(reference.TryGetValue(key, out long expected), !System.Runtime.CompilerServices.Unsafe.IsNullRef(ref found));
                        if (reference.ContainsKey(key)) Assert.AreEqual(expected, found);
                        break;
                }
                Assert.AreEqual(reference.Count, map.Count);
            }
            foreach (var (key, value) in reference) Assert.AreEqual(value, map.GetValueRefOrNullRef(key));
        }, iter: 50);
    }
}
