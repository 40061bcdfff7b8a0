using System.Text;

namespace DmaReplay.Engine.Synthesis;

/// <summary>A traced task (comm and pid) with its context column pre-formatted once.</summary>
internal sealed class SynthTask
{
    public SynthTask(string comm, int pid)
    {
        Comm = comm;
        Pid = pid;
        // trace_print_context(): "%16s-%-7d"; a comm is at most 15 characters (TASK_COMM_LEN 16).
        Prefix = Encoding.ASCII.GetBytes(comm.PadLeft(16) + "-" + pid.ToString(System.Globalization.CultureInfo.InvariantCulture).PadRight(7));
    }

    public string Comm { get; }
    public int Pid { get; }
    public byte[] Prefix { get; }

    public override string ToString() => $"{Comm}-{Pid}";
}
