namespace DmaReplay.Parsers;

/// <summary>A line the reader could not use: where it is and why.</summary>
public sealed record ParseDiagnostic(string Input, long Line, long ByteOffset, string Reason, string Excerpt)
{
    public override string ToString() => $"{Input}:{Line} (offset {ByteOffset}): {Reason}: {Excerpt}";
}
