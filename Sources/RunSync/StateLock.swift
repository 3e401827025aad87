// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

#if canImport(Glibc)
import Glibc
#endif

/// The exclusive lock a syncd holds on its state directory while it syncs,
/// so that two syncds (a second service, a `--once` next to the daemon)
/// never upload the same runs: the second one refuses to start.
///
/// The lock is an open-file-description lock (`FileLock.tryWriteLock`) on
/// `<state>/.lock`, released when the holder exits however it exits; the file
/// holds the holder's PID, for the refusal to name it. `syncd status` and
/// `syncd clean` take no lock.
public final class StateLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    /// Takes the lock, or throws a one-line `.locked` error naming the holder's PID.
    public init(directory: String) throws(SyncError) {
        path = directory + "/.lock"
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SyncError(.state, "\(path): cannot open the state lock: \(SystemCall.errorText(errno))") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SyncError(.state, "\(path): not a regular file; cannot lock the state directory")
        }
        guard FileLock.tryWriteLock(fd) else {
            let e = errno
            let holder = Self.holder(fd)
            close(fd)
            if e == EAGAIN || e == EACCES {
                let who = holder.map { "syncd (PID \($0))" } ?? "another syncd"
                throw SyncError(.locked, "\(directory): the state directory is in use by \(who); only one syncd may use a state directory")
            }
            throw SyncError(.state, "\(path): cannot lock the state directory: \(SystemCall.errorText(e))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { release() }

    /// Releases the lock (also done when the process ends).
    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    /// The PID the holder wrote into the lock file.
    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
