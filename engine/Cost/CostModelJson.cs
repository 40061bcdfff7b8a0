using System.Text;
using System.Text.Json;

namespace DmaReplay.Engine.Cost;

/// <summary>
/// The cost file (<c>replay --cost FILE</c>, written by <c>calibrate -o</c>): an object with
/// "name", "base" (the preset that gives every term the file leaves out), "sources" and
/// "terms" (term key → number, <see cref="CostTerms"/>); other keys (calibrate's "fit") are
/// kept for the reader and ignored. Errors name the file and line.
/// </summary>
public static class CostModelJson
{
    public static void Write(CostModel m, Stream stream, string? basePreset = null, Action<Utf8JsonWriter>? extra = null)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("name", m.Name);
        if (basePreset is not null) w.WriteString("base", basePreset);
        w.WriteStartArray("sources");
        foreach (var s in m.Sources) w.WriteStringValue(s);
        w.WriteEndArray();
        w.WriteStartObject("terms");
        foreach (var t in CostTerms.All) w.WriteNumber(t.Key, t.Get(m));
        w.WriteEndObject();
        extra?.Invoke(w);
        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }

    public static string ToJson(CostModel m, string? basePreset = null, Action<Utf8JsonWriter>? extra = null)
    {
        using var ms = new MemoryStream();
        Write(m, ms, basePreset, extra);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    public static CostModel Read(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses a cost file's bytes; <paramref name="path"/> names it in errors.</summary>
    public static CostModel Parse(byte[] utf8, string path)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        string? name = null, basePreset = null;
        var sources = new List<string>();
        var values = new List<(CostTerm Term, double Value)>();
        try
        {
            Expect(ref reader, JsonTokenType.StartObject, utf8, path, "a cost file is a JSON object");
            while (Next(ref reader) && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                Next(ref reader);
                switch (key)
                {
                    case "name":
                        name = Text(ref reader, utf8, path, key);
                        break;
                    case "base":
                        basePreset = Text(ref reader, utf8, path, key);
                        if (!CostPresets.All.ContainsKey(basePreset)) throw Error(utf8, reader, path, $"base: '{basePreset}' is not a preset ({CostPresets.Names})");
                        break;
                    case "sources":
                        if (reader.TokenType != JsonTokenType.StartArray) throw Error(utf8, reader, path, "sources: an array of strings");
                        while (Next(ref reader) && reader.TokenType != JsonTokenType.EndArray) sources.Add(Text(ref reader, utf8, path, key));
                        break;
                    case "terms":
                        if (reader.TokenType != JsonTokenType.StartObject) throw Error(utf8, reader, path, "terms: an object of term → number");
                        while (Next(ref reader) && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            string termKey = reader.GetString()!;
                            var term = CostTerms.Find(termKey) ?? throw Error(utf8, reader, path, $"unknown cost term '{termKey}' (terms: {CostTerms.Keys})");
                            Next(ref reader);
                            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double v) || !double.IsFinite(v))
                                throw Error(utf8, reader, path, $"{termKey}: a number");
                            try
                            {
                                values.Add((term, CostTerms.Check(v, termKey, term)));
                            }
                            catch (FormatException ex)
                            {
                                throw Error(utf8, reader, path, ex.Message);
                            }
                        }
                        break;
                    default:
                        reader.Skip(); // "fit" and other informational keys
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{path}:{(ex.LineNumber ?? 0) + 1}: {ex.Message}", ex);
        }
        var model = (basePreset is null ? CostPresets.X86Vtd() : CostPresets.All[basePreset]()) with { Name = name ?? Path.GetFileNameWithoutExtension(path) };
        foreach (var (term, v) in values) model = term.Set(model, v);
        if (values.Count < CostTerms.All.Count)
            sources.Add($"terms the file leaves out: preset {basePreset ?? CostPresets.Default}");
        return model with { Sources = sources.Count > 0 ? sources : [$"cost file {path}"] };
    }

    private static bool Next(ref Utf8JsonReader reader) => reader.Read();

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, byte[] utf8, string path, string what)
    {
        if (!reader.Read() || reader.TokenType != type) throw Error(utf8, reader, path, what);
    }

    private static string Text(ref Utf8JsonReader reader, byte[] utf8, string path, string key) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw Error(utf8, reader, path, $"{key}: a string");

    /// <summary>"file:line: reason", the line counted up to the token the reader is on.</summary>
    private static FormatException Error(byte[] utf8, Utf8JsonReader reader, string path, string reason)
    {
        long at = Math.Min(reader.TokenStartIndex, utf8.Length);
        int line = 1;
        for (long i = 0; i < at; i++) if (utf8[i] == (byte)'\n') line++;
        return new FormatException($"{path}:{line}: {reason}");
    }
}
