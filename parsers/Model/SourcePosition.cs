namespace DmaReplay.Parsers.Model;

/// <summary>Where an event or diagnostic came from: input index, 1-based line, byte offset of the line start.</summary>
public readonly record struct SourcePosition(int Input, long Line, long ByteOffset);
