namespace DmaReplay.Engine.Replay;

/// <summary>
/// The emulated handle each recently released recorded handle stood for, so a second release of
/// it (a driver bug) reaches the checks as a release of the same emulated mapping: a double unmap,
/// not an unmap of something never mapped. A fixed direct-mapped table: memory stays flat.
/// </summary>
internal sealed class RecentTranslations
{
    private const int Bits = 16;
    private readonly (int Device, ulong Recorded, ulong Emulated)[] _slots = new (int, ulong, ulong)[1 << Bits];

    private static int Index(int device, ulong recorded) =>
        (int)(((recorded ^ ((ulong)(uint)device << 48)) * 0x9E3779B97F4A7C15UL) >> (64 - Bits));

    public void Add(int device, ulong recorded, ulong emulated) => _slots[Index(device, recorded)] = (device + 1, recorded, emulated);

    public bool TryGet(int device, ulong recorded, out ulong emulated)
    {
        var s = _slots[Index(device, recorded)];
        emulated = s.Emulated;
        return s.Device == device + 1 && s.Recorded == recorded;
    }
}
