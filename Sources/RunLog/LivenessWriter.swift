// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The writer's side of the liveness file (spec/run-directory.md §3): made
/// under a temporary name, locked, filled, synced and renamed in place; its
/// modification time is the heartbeat; it is removed after the run end is durable.
///
/// On Linux the lock is an open-file-description lock (`F_OFD_SETLK`), which
/// conflicts with the POSIX locks readers test for, but which a reader in
/// this same process cannot release by opening and closing the file (as it
/// could release a classic `F_SETLK` lock).
final class LivenessWriter {
    let path: String
    private var fd: Int32

    init(path: String, heartbeatInterval: Double) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        let tmp = directory + "/.tmp-\(getpid())-" + (path as NSString).lastPathComponent
        // A link planted at the temporary name (in a shared root) is removed, never followed.
        unlink(tmp)
        let fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunError(.io, "\(tmp): cannot create the liveness file: \(lastErrno())") }
        let locked = Self.lock(fd)
        let body = [UInt8](LiveFile.current(locked: locked, heartbeatInterval: heartbeatInterval).encoded()) + [0x0A]
        let written = body.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == body.count, fsync(fd) == 0, rename(tmp, path) == 0 else {
            let e = lastErrno()
            close(fd)
            unlink(tmp)
            throw RunError(.io, "\(path): cannot write the liveness file: \(e)")
        }
        syncDirectory(directory)
        self.fd = fd
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Sets the file's modification time to now.
    func beat() {
        if fd >= 0 { _ = futimens(fd, nil) }
    }

    /// Deletes the file and releases the lock: the writer ends.
    func remove() {
        guard fd >= 0 else { return }
        unlink(path)
        syncDirectory((path as NSString).deletingLastPathComponent)
        close(fd)
        fd = -1
    }

    private static func lock(_ fd: Int32) -> Bool { FileLock.tryWriteLock(fd) }
}

/// fsyncs a directory so that a rename or a new entry in it is durable.
func syncDirectory(_ path: String) { SystemCall.syncDirectory(path) }

/// The text of the current errno.
func lastErrno() -> String { SystemCall.errorText(errno) }
