// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Copies checkpoint files into a run's `checkpoints/` directory the way
/// spec/run-directory.md §6 says: to `.tmp-<random>`, fsynced, moved to
/// `<name>/<step>-<file name>` without replacing anything, directories fsynced.
struct CheckpointStore {
    let runPath: String
    var directory: String { runPath + "/checkpoints" }

    struct Copy {
        /// Relative to the run directory.
        var path: String
        var size: UInt64
        var sha256: [UInt8]
    }

    /// Copies `file` and returns where it went, its size and SHA-256.
    /// When `<step>-<file name>` is taken (a requeued job saving the same step
    /// again), the copy goes to `<step>.<k>-<file name>` with the smallest free k ≥ 1.
    func store(file: String, name: String, step: Int64) throws -> Copy {
        let safeName = Self.sanitize(name)
        let baseName = Self.sanitize((file as NSString).lastPathComponent)
        let tmp = directory + "/.tmp-" + Self.randomSuffix()
        let (size, digest) = try copy(from: file, to: tmp)
        let target = directory + "/" + safeName
        if mkdir(target, 0o755) == 0 {
            syncDirectory(directory)
        } else if errno != EEXIST {
            let e = lastErrno()
            unlink(tmp)
            throw RunError(.io, "\(target): cannot create the checkpoint directory: \(e)")
        }
        var k = 0
        while true {
            let fileName = (k == 0 ? "\(step)" : "\(step).\(k)") + "-" + baseName
            if link(tmp, target + "/" + fileName) == 0 {
                unlink(tmp)
                syncDirectory(target)
                syncDirectory(directory)
                return Copy(path: "checkpoints/\(safeName)/\(fileName)", size: size, sha256: digest)
            }
            guard errno == EEXIST else {
                let e = lastErrno()
                unlink(tmp)
                throw RunError(.io, "\(target)/\(fileName): cannot move the checkpoint in place: \(e)")
            }
            k += 1
        }
    }

    /// Deletes the checkpoint file at `path` (relative to the run directory)
    /// and syncs its directory; a file already gone is not an error.
    func remove(path: String) throws {
        let full = runPath + "/" + path
        guard unlink(full) == 0 || errno == ENOENT else {
            throw RunError(.io, "\(full): cannot delete the checkpoint: \(lastErrno())")
        }
        syncDirectory((full as NSString).deletingLastPathComponent)
    }

    /// Copies `source` to `destination` (a new file), fsyncs it, and returns its size and SHA-256.
    private func copy(from source: String, to destination: String) throws -> (UInt64, [UInt8]) {
        // A FIFO or device given as the checkpoint would block training: regular files only.
        let input: Int32
        do { input = try RegularFile.open(source, followingLink: true) } catch {
            throw RunError(error.code == .notRegularFile ? .invalidArgument : .io, "\(source): cannot open the checkpoint: \(error.message)")
        }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw RunError(.io, "\(destination): cannot create: \(lastErrno())") }
        var hasher = SHA256Hasher()
        var size: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        func fail(_ what: String) -> RunError {
            let e = RunError(.io, "\(what): \(lastErrno())")
            close(output)
            unlink(destination)
            return e
        }
        while true {
            let n = buffer.withUnsafeMutableBytes { SystemCall.read(input, into: $0) }
            if n < 0 { throw fail("\(source): cannot read the checkpoint") }
            if n == 0 { break }
            try buffer.withUnsafeBytes { chunk in
                let bytes = UnsafeRawBufferPointer(rebasing: chunk[0..<n])
                hasher.update(bytes)
                guard SystemCall.writeAll(output, bytes) else { throw fail("\(destination): cannot write the checkpoint copy") }
            }
            size += UInt64(n)
        }
        guard fsync(output) == 0 else { throw fail("\(destination): cannot sync the checkpoint copy") }
        close(output)
        return (size, hasher.finalize())
    }

    /// `s` with every character outside `[A-Za-z0-9._-]` replaced by `_`;
    /// a name that would be empty, `.` or `..` becomes `_`.
    static func sanitize(_ s: String) -> String {
        let out = SafeName.characters(s)
        return out.isEmpty || out == "." || out == ".." ? "_" : out
    }

    static func randomSuffix() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<12).map { _ in alphabet.randomElement()! })
    }
}
