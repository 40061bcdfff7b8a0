using System.Globalization;
using DmaReplay.Cli;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return DmaReplayCommandLine.Invoke(args);
