using System.CommandLine;
using System.Globalization;
using DmaReplay.Cli.Commands;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

var root = new RootCommand("DmaReplay: replay Linux DMA traces against an emulation of the kernel's DMA mapping stack.")
{
    CheckCommand.Create(),
    SynthCommand.Create(),
};
return root.Parse(args).Invoke();
