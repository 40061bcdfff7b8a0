using DmaReplay.Engine.Replay;

namespace DmaReplay.Engine.Platform;

/// <summary>
/// Where a run's platform comes from: the capture bundle when the input is one, or a --platform
/// file or preset (a preset keeps the capture's devices), then the --set overrides.
/// </summary>
public static class PlatformSource
{
    /// <summary>The platform, capture facts, and whether the platform is the capture's own (fidelity is measured only then).</summary>
    public static (PlatformModel Platform, CaptureFacts? Facts, bool CaptureOwn) Resolve(string input, string? platformArg, IReadOnlyList<string> settings)
    {
        CaptureBundle? bundle = Directory.Exists(input) && CaptureBundle.IsBundle(input) ? CaptureBundle.Load(input) : null;
        PlatformModel platform;
        if (platformArg is null)
        {
            platform = bundle?.Platform ?? PlatformPresets.X86Default() with
            {
                Provenance = ["no bundle and no --platform: preset x86-64-default"],
            };
        }
        else if (PlatformPresets.All.TryGetValue(platformArg, out var preset))
        {
            platform = bundle is null ? preset() : PlatformPresets.WithDevicesOf(preset(), bundle.Platform);
        }
        else if (File.Exists(platformArg))
        {
            platform = PlatformJson.Read(platformArg);
        }
        else
        {
            throw new FormatException($"--platform: '{platformArg}' is neither a preset ({PlatformPresets.Names}) nor a file");
        }
        bool own = bundle is not null && platformArg is null && settings.All(PlatformSettings.IsHardwareOnly);
        if (settings.Count > 0) platform = PlatformSettings.Apply(platform, settings);
        return (platform, bundle?.Facts, own);
    }

    /// <summary>
    /// One platform by itself (<c>platform show</c>): a capture bundle's own platform, a preset or a
    /// platform file, resolved as <see cref="Resolve"/> does, then the --set overrides.
    /// </summary>
    public static PlatformModel Load(string source, IReadOnlyList<string> settings)
    {
        bool bundle = Directory.Exists(source) && CaptureBundle.IsBundle(source);
        if (!bundle && !PlatformPresets.All.ContainsKey(source) && !File.Exists(source))
            throw new FormatException($"'{source}' is neither a capture bundle, a platform file nor a preset ({PlatformPresets.Names})");
        return Resolve(bundle ? source : "", bundle ? null : source, settings).Platform;
    }
}
