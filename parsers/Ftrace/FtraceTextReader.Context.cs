using System.Runtime.Intrinsics;
using DmaReplay.Parsers.Model;
using DmaReplay.Parsers.Text;

namespace DmaReplay.Parsers.Ftrace;

public sealed partial class FtraceTextReader
{
    /// <summary>
    /// Parses the context part of an event line (trace_print_context / trace-cmd print_event):
    /// <c>comm-pid [(tgid)] [cpu] [flags] secs.frac: </c>. On success <paramref name="pos"/> is the
    /// index of the event name. comm may contain spaces, '-' and '[': the pid is the digits after
    /// the last '-' before a "[cpu]" field.
    /// </summary>
    private bool TryParseContext(ReadOnlySpan<byte> line, DmaEvent e, out int pos)
    {
        if (IsStandardLayout(line, out int pid, out int cpu))
        {
            e.Reset();
            e.Pid = pid;
            e.Cpu = cpu;
            e.Task = CachedTask(line, pid);
            return TryStandardFlagsAndTimestamp(line, e, out pos) || TryFlagsAndTimestamp(line, StandardCpuEnd, e, out pos);
        }
        pos = 0;
        int searchFrom = 0;
        while (true)
        {
            int rel = line[searchFrom..].IndexOf((byte)'[');
            if (rel < 0) return false;
            int open = searchFrom + rel;
            searchFrom = open + 1;
            if (!TryCpuField(line, open, out cpu, out int afterCpu)) continue;
            e.Reset();
            if (!TryTaskPid(line, open, e)) continue;
            e.Cpu = cpu;
            return TryFlagsAndTimestamp(line, afterCpu, e, out pos);
        }
    }

    // The columns of tracefs' own layout, "%16s-%-7d [%03d] " (trace_print_context without the
    // tgid option): comm right-aligned in 16, '-', the pid left-aligned in 7, a 3-digit CPU.
    private const int StandardCommWidth = 16;
    private const int StandardPidEnd = 24;
    private const int StandardCpuOpen = 25;
    private const int StandardCpuEnd = 31;

    /// <summary>
    /// The fast path: the standard layout checked at fixed columns, without searching. It accepts
    /// a line only where the general parser reads the same pid and CPU from it: there is no '['
    /// in the comm column, so the CPU field at column 25 is the first one the general parser
    /// could take, and walking back from it crosses the pid's digits to the '-' at column 16.
    /// Anything else (a 4-digit CPU, the tgid column, trace-cmd's layout) is left to the general
    /// parser.
    /// </summary>
    private static bool IsStandardLayout(ReadOnlySpan<byte> line, out int pid, out int cpu)
    {
        pid = cpu = 0;
        if (line.Length <= StandardCpuEnd || line[StandardCommWidth] != '-' || line[StandardCpuOpen] != '['
            || line[StandardCpuEnd - 2] != ']' || line[StandardCpuEnd - 1] != ' ')
            return false;
        uint c0 = (uint)(line[26] - '0'), c1 = (uint)(line[27] - '0'), c2 = (uint)(line[28] - '0');
        if (c0 > 9 || c1 > 9 || c2 > 9) return false;
        int i = StandardCommWidth + 1;
        while (i < StandardPidEnd && (uint)(line[i] - '0') <= 9) pid = pid * 10 + (line[i++] - '0');
        if (i == StandardCommWidth + 1) return false;
        for (; i <= StandardPidEnd; i++)
        {
            if (line[i] != ' ') return false;
        }
        if (Vector128.EqualsAny(Utf8Scan.Load16(line), Vector128.Create((byte)'['))) return false;
        cpu = (int)(c0 * 100 + c1 * 10 + c2);
        return true;
    }

    /// <summary>
    /// The interned comm of a standard-layout line. A pid keeps its comm from line to line, so
    /// the task id is cached by pid together with the 16 bytes of the comm column it came from
    /// (padding included: equal columns are equal names); only a new or changed comm is interned.
    /// </summary>
    private int CachedTask(ReadOnlySpan<byte> line, int pid) =>
        _taskCache.Intern(pid, Utf8Scan.Load16(line), line[..StandardCommWidth].TrimStart((byte)' '));

    /// <summary>"[ddd]" followed by a space; returns the index after the space.</summary>
    private static bool TryCpuField(ReadOnlySpan<byte> line, int open, out int cpu, out int after)
    {
        cpu = 0;
        after = 0;
        int i = open + 1;
        int digits = 0;
        while (i < line.Length && (uint)(line[i] - '0') <= 9 && digits < 6)
        {
            cpu = cpu * 10 + (line[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || i + 1 >= line.Length || line[i] != ']' || line[i + 1] != ' ') return false;
        after = i + 2;
        return true;
    }

    /// <summary>Parses backwards from the '[' of the CPU field: optional "(tgid)", then "comm-pid".</summary>
    private bool TryTaskPid(ReadOnlySpan<byte> line, int open, DmaEvent e)
    {
        int j = open - 1;
        while (j >= 0 && line[j] == ' ') j--;
        if (j < 0) return false;
        int tgid = -1;
        if (line[j] == ')')
        {
            int lp = line[..j].LastIndexOf((byte)'(');
            if (lp < 0) return false;
            var inner = line[(lp + 1)..j].Trim((byte)' ');
            if (Text.Utf8Number.TryParseDecimal(inner, out ulong t)) tgid = (int)Math.Min(t, int.MaxValue);
            else if (inner.IndexOfAnyExcept((byte)'-') >= 0) return false;
            j = lp - 1;
            while (j >= 0 && line[j] == ' ') j--;
            if (j < 0) return false;
        }
        int end = j + 1;
        while (j >= 0 && (uint)(line[j] - '0') <= 9) j--;
        if (j < 0 || j == end - 1 || line[j] != '-') return false;
        if (!Text.Utf8Number.TryParseDecimal(line[(j + 1)..end], out ulong pid) || pid > int.MaxValue) return false;
        var comm = line[..j].TrimStart((byte)' ');
        e.Pid = (int)pid;
        e.Tgid = tgid;
        e.Task = _strings.Tasks.Intern(comm);
        return true;
    }

    /// <summary>
    /// <see cref="TryFlagsAndTimestamp"/> at column 31 of a standard-layout line whose flags and
    /// timestamp are in tracefs' own columns too: "%c%c%c%c%c %5lu.%06lu: ", the five flags, the
    /// seconds right-aligned in five columns, six digits of microseconds, the name at column 51.
    /// Checked at those columns; false, with nothing set, for anything else (a wider timestamp,
    /// four flag columns, bad flags), which the general parser then reads — or rejects.
    /// </summary>
    private static bool TryStandardFlagsAndTimestamp(ReadOnlySpan<byte> line, DmaEvent e, out int pos)
    {
        pos = 0;
        const int Flags = StandardCpuEnd, Secs = Flags + 6, Dot = Secs + 5, Colon = Dot + 7;
        if (line.Length <= Colon + 1 || line[Flags + 5] != ' ' || line[Dot] != '.' || line[Colon] != ':' || line[Colon + 1] != ' ') return false;
        // As the general parser: a digit first means no flag column; a space in the column makes it fail.
        if ((uint)(line[Flags] - '0') <= 9 || line[Flags + 4] == ' ') return false;
        if (!TryParseLatencyFlags(line.Slice(Flags, 5), out var flags, out byte preempt, out byte migrate)) return false;
        int i = Secs;
        while (i < Dot && line[i] == ' ') i++;
        if (i == Dot) return false;
        long secs = 0;
        for (; i < Dot; i++)
        {
            uint d = (uint)(line[i] - '0');
            if (d > 9) return false;
            secs = secs * 10 + d;
        }
        long micros = 0;
        for (i = Dot + 1; i < Colon; i++)
        {
            uint d = (uint)(line[i] - '0');
            if (d > 9) return false;
            micros = micros * 10 + d;
        }
        e.Flags = flags;
        e.PreemptDepth = preempt;
        e.MigrateDisable = migrate;
        e.TimestampNs = secs * 1_000_000_000L + micros * 1000;
        pos = Colon + 2;
        return true;
    }

    private static bool TryFlagsAndTimestamp(ReadOnlySpan<byte> line, int i, DmaEvent e, out int pos)
    {
        pos = 0;
        while (i < line.Length && line[i] == ' ') i++;
        if (i >= line.Length) return false;
        var flags = TraceContextFlags.NoFlagColumn;
        byte preempt = 0, migrate = 0;
        if ((uint)(line[i] - '0') > 9)
        {
            // The latency column is 4 or 5 characters wide (TryParseLatencyFlags takes nothing
            // else, and fails on a space inside), so only those two ends need looking at, not a
            // search of the rest of the line.
            int sp = i + 4 < line.Length && line[i + 4] == ' ' ? 4 : i + 5 < line.Length && line[i + 5] == ' ' ? 5 : -1;
            if (sp < 0 || !TryParseLatencyFlags(line.Slice(i, sp), out flags, out preempt, out migrate)) return false;
            i += sp;
            while (i < line.Length && line[i] == ' ') i++;
        }
        e.Flags = flags;
        e.PreemptDepth = preempt;
        e.MigrateDisable = migrate;

        // "secs.frac:" (frac 6 digits for tracefs' local clock, 9 with trace-cmd --ts-ns) or a raw counter "N:".
        long secs = 0;
        int start = i;
        while (i < line.Length && (uint)(line[i] - '0') <= 9)
        {
            if (i - start >= 18) return false;
            secs = secs * 10 + (line[i] - '0');
            i++;
        }
        if (i == start || i >= line.Length) return false;
        long ns;
        if (line[i] == '.')
        {
            i++;
            int fracStart = i;
            long frac = 0;
            while (i < line.Length && (uint)(line[i] - '0') <= 9)
            {
                if (i - fracStart < 9) frac = frac * 10 + (line[i] - '0');
                i++;
            }
            int digits = Math.Min(i - fracStart, 9);
            if (digits == 0) return false;
            for (int d = digits; d < 9; d++) frac *= 10;
            ns = secs * 1_000_000_000L + frac;
        }
        else
        {
            ns = secs;
        }
        if (i + 1 >= line.Length || line[i] != ':' || line[i + 1] != ' ') return false;
        e.TimestampNs = ns;
        pos = i + 2;
        return true;
    }

    /// <summary>The 4- or 5-character latency column (trace_print_lat_fmt).</summary>
    internal static bool TryParseLatencyFlags(ReadOnlySpan<byte> f, out TraceContextFlags flags, out byte preempt, out byte migrate)
    {
        flags = TraceContextFlags.None;
        preempt = migrate = 0;
        if (f.Length is not (4 or 5)) return false;
        // Table lookups: the characters vary from line to line, so the switches they come from mispredicted.
        flags = (TraceContextFlags)(IrqColumn[f[0]] | ReschedColumn[f[1]] | ContextColumn[f[2]]);
        if (flags == (TraceContextFlags)InvalidFlag || (ushort)flags > (ushort)TraceContextFlags.NoFlagColumn) return false;
        if (!TryNibble(f[3], out preempt)) return false;
        if (f.Length == 5 && !TryNibble(f[4], out migrate)) return false;
        return true;
    }

    private const ushort InvalidFlag = 0xFFFF;
    private static readonly ushort[] IrqColumn = FlagTable(IrqFlag);
    private static readonly ushort[] ReschedColumn = FlagTable(ReschedFlag);
    private static readonly ushort[] ContextColumn = FlagTable(ContextFlag);

    private static ushort[] FlagTable(Func<byte, TraceContextFlags> column)
    {
        var t = new ushort[256];
        for (int b = 0; b < 256; b++) t[b] = (ushort)column((byte)b);
        return t;
    }

    /// <summary>Column 1: irqs-off / BH-disabled.</summary>
    private static TraceContextFlags IrqFlag(byte c) => c switch
    {
        (byte)'D' => TraceContextFlags.IrqsOff | TraceContextFlags.BhOff,
        (byte)'d' => TraceContextFlags.IrqsOff,
        (byte)'b' => TraceContextFlags.BhOff,
        (byte)'X' => TraceContextFlags.IrqStateUnsupported,
        (byte)'.' => TraceContextFlags.None,
        _ => (TraceContextFlags)InvalidFlag,
    };

    /// <summary>Column 2: need-resched (with the lazy variants of v6.13+).</summary>
    private static TraceContextFlags ReschedFlag(byte c) => c switch
    {
        (byte)'N' => TraceContextFlags.NeedResched | TraceContextFlags.PreemptNeedResched,
        (byte)'n' => TraceContextFlags.NeedResched,
        (byte)'p' => TraceContextFlags.PreemptNeedResched,
        (byte)'L' => TraceContextFlags.NeedReschedLazy | TraceContextFlags.PreemptNeedResched,
        (byte)'l' => TraceContextFlags.NeedReschedLazy,
        (byte)'B' => TraceContextFlags.NeedResched | TraceContextFlags.NeedReschedLazy | TraceContextFlags.PreemptNeedResched,
        (byte)'b' => TraceContextFlags.NeedResched | TraceContextFlags.NeedReschedLazy,
        (byte)'.' => TraceContextFlags.None,
        _ => (TraceContextFlags)InvalidFlag,
    };

    /// <summary>Column 3: hardirq / softirq / NMI.</summary>
    private static TraceContextFlags ContextFlag(byte c) => c switch
    {
        (byte)'Z' => TraceContextFlags.Nmi | TraceContextFlags.HardIrq,
        (byte)'z' => TraceContextFlags.Nmi,
        (byte)'H' => TraceContextFlags.HardIrq | TraceContextFlags.SoftIrq,
        (byte)'h' => TraceContextFlags.HardIrq,
        (byte)'s' => TraceContextFlags.SoftIrq,
        (byte)'.' => TraceContextFlags.None,
        _ => (TraceContextFlags)InvalidFlag,
    };

    private static bool TryNibble(byte c, out byte value)
    {
        value = c switch
        {
            (byte)'.' => 0,
            >= (byte)'0' and <= (byte)'9' => (byte)(c - '0'),
            >= (byte)'a' and <= (byte)'f' => (byte)(c - 'a' + 10),
            _ => 255,
        };
        return value != 255;
    }
}
