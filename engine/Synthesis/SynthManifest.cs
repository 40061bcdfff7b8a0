using System.Text.Json;
using DmaReplay.Engine.Findings;

namespace DmaReplay.Engine.Synthesis;

/// <summary>
/// A finding a synthetic trace must produce: where, and whether it was injected or is natural (a
/// mapping live at the end). <paramref name="Severity"/> is given where the rule's severity
/// depends on the case (fence-never-signaled: an error when something waited on the fence); null
/// means the rule's own, and the manifest then leaves the field out.
/// </summary>
public sealed record ExpectedFinding(string Rule, long Line, long? RelatedLine, string Device, ulong DmaAddr, bool Injected, Severity? Severity = null);

/// <summary>
/// What a synthetic trace holds, exactly: the injected faults and every finding `check` must
/// report on it with the given platform settings — no more, no fewer.
/// </summary>
public sealed record SynthManifest(
    int Seed, long Events, string Platform, IReadOnlyList<string> Settings,
    IReadOnlyList<KeyValuePair<string, long>> Injected, IReadOnlyList<ExpectedFinding> ExpectedFindings)
{
    public void Write(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("generator", "dmareplay synth");
        w.WriteNumber("seed", Seed);
        w.WriteNumber("events", Events);
        w.WriteStartObject("check");
        w.WriteString("platform", Platform);
        w.WriteStartArray("settings");
        foreach (var s in Settings) w.WriteStringValue(s);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartObject("injected");
        foreach (var (rule, n) in Injected) w.WriteNumber(rule, n);
        w.WriteEndObject();
        w.WriteStartArray("expectedFindings");
        foreach (var f in ExpectedFindings)
        {
            w.WriteStartObject();
            w.WriteString("rule", f.Rule);
            w.WriteNumber("line", f.Line);
            if (f.RelatedLine is { } r) w.WriteNumber("relatedLine", r);
            else w.WriteNull("relatedLine");
            w.WriteString("device", f.Device);
            w.WriteString("dmaAddr", "0x" + f.DmaAddr.ToString("x"));
            w.WriteBoolean("injected", f.Injected);
            if (f.Severity is { } sev) w.WriteString("severity", sev.Key());
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }

    public static SynthManifest Read(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        var check = root.GetProperty("check");
        return new SynthManifest(
            root.GetProperty("seed").GetInt32(), root.GetProperty("events").GetInt64(),
            check.GetProperty("platform").GetString()!,
            check.GetProperty("settings").EnumerateArray().Select(s => s.GetString()!).ToList(),
            root.GetProperty("injected").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetInt64())).ToList(),
            root.GetProperty("expectedFindings").EnumerateArray().Select(f => new ExpectedFinding(
                f.GetProperty("rule").GetString()!, f.GetProperty("line").GetInt64(),
                f.GetProperty("relatedLine").ValueKind == JsonValueKind.Null ? null : f.GetProperty("relatedLine").GetInt64(),
                f.GetProperty("device").GetString()!, Convert.ToUInt64(f.GetProperty("dmaAddr").GetString()![2..], 16),
                f.GetProperty("injected").GetBoolean(),
                f.TryGetProperty("severity", out var sev) ? ParseSeverity(sev.GetString()!) : null)).ToList());
    }

    private static Severity ParseSeverity(string key) => key switch
    {
        "error" => Severity.Error,
        "warning" => Severity.Warning,
        "info" => Severity.Info,
        _ => throw new FormatException($"unknown severity '{key}'"),
    };
}
