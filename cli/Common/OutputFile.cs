using System.IO.Compression;

namespace DmaReplay.Cli.Common;

/// <summary>Writes an output file through "&lt;path&gt;.partial", renamed at the end, so a failed run leaves no half file.</summary>
internal static class OutputFile
{
    /// <summary>
    /// Creates the folder, hands <paramref name="write"/> the stream (gzip-compressing when
    /// <paramref name="gzip"/>), and renames the file into place when it returns true. I/O errors
    /// are the caller's to report; the partial file is removed whatever happens.
    /// </summary>
    public static bool Write(string path, bool gzip, Func<Stream, bool> write)
    {
        var temp = path + ".partial";
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            bool keep;
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
            using (var stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : (Stream)file)
            {
                keep = write(stream);
            }
            if (keep) File.Move(temp, path, overwrite: true);
            return keep;
        }
        finally
        {
            try { File.Delete(temp); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
    }
}
