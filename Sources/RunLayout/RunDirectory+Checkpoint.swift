// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension RunDirectory {
    /// The absolute path of the checkpoint file a record names (`relative`,
    /// e.g. `checkpoints/best/10-model.pt`), when reading it is allowed:
    /// the path is valid, no component of it is a symbolic link leading out
    /// of the run directory, and the file itself is a regular file (not a
    /// symbolic link at all, nor a FIFO or device). A refusal is a
    /// `FormatError` with code `.notRegularFile` (or `.io` when it is missing),
    /// whatever the file's bytes would hash to.
    public func checkpointFile(_ relative: String) throws(FormatError) -> String {
        guard Checkpoint.isValidPath(relative) else {
            throw FormatError(.notRegularFile, "\(path): invalid checkpoint path \"\(relative)\"; not read")
        }
        let full = path + "/" + relative
        guard let base = RegularFile.resolved(path), let target = RegularFile.resolved(full) else {
            let e = errno
            throw FormatError(.io, "\(full): \(SystemCall.errorText(e))", errno: e)
        }
        guard target.hasPrefix(base.hasSuffix("/") ? base : base + "/") else {
            throw FormatError(.notRegularFile, "\(full): leads out of the run directory (to \(target)); not read")
        }
        var st = stat()
        guard lstat(full, &st) == 0 else {
            let e = errno
            throw FormatError(.io, "\(full): \(SystemCall.errorText(e))", errno: e)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError(.notRegularFile, "\(full): \((st.st_mode & S_IFMT) == S_IFLNK ? "a symbolic link" : "not a regular file"); not read")
        }
        return full
    }

    /// Opens a checkpoint file for reading after `checkpointFile`'s checks.
    public func openCheckpoint(_ relative: String) throws(FormatError) -> Int32 {
        try RegularFile.open(checkpointFile(relative))
    }
}
