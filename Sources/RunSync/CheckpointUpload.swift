// SPDX-License-Identifier: Apache-2.0
import RunLayout

/// The rules for a checkpoint file syncd uploads: it must be a regular file
/// inside its run directory (spec/run-directory.md §6), and a file that
/// breaks a rule or fails its SHA-256 check is left out and noted, not
/// allowed to stop the rest of the run.
enum CheckpointUpload {
    /// `source` when it may be read; a `.data` error otherwise (a symbolic
    /// link leading out of the run directory, a FIFO, a device), whatever its hash.
    static func allowedFile(_ source: String, in directory: RunDirectory) throws(SyncError) -> String {
        let prefix = directory.path + "/"
        guard source.hasPrefix(prefix) else { throw SyncError(.data, "\(source): not inside the run directory \(directory.path); not uploaded") }
        do {
            return try directory.checkpointFile(String(source.dropFirst(prefix.count)))
        } catch {
            throw SyncError(.data, error.message.replacingSuffix("; not read", with: "; not uploaded"))
        }
    }

    /// The tag that records why the checkpoint at `path` was left out.
    static func errorTag(_ path: ArtifactPath) -> String {
        MLflowNames.key("runlog.checkpoint_error." + path.description)
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with other: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + other : self
    }
}
