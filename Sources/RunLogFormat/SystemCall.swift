// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few system-call helpers every module needs, in one place.
public enum SystemCall {
    /// The text of an errno value, as `strerror` gives it ("No such file or directory").
    public static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// `read` into `buffer` (at `offset` with `pread`), again when a signal
    /// interrupts it: the bytes read, 0 at the end of the file, or -1 with `errno` set.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64? = nil) -> Int {
        while true {
            let n = offset.map { pread(fd, buffer.baseAddress, buffer.count, off_t($0)) } ?? Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            return n
        }
    }

    /// Writes all of `bytes` (at `offset` with `pwrite`, else at the file
    /// position), again after an interrupted or short write: true, or false
    /// with `errno` set (`EIO` when the system wrote nothing and said no error).
    /// With `syncParts`, a short write is fsynced before the rest is written
    /// (the append rule of spec/format.md §5).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64? = nil,
                                syncParts: Bool = false) -> Bool {
        var done = 0
        while done < bytes.count {
            if syncParts && done > 0 && !sync(fd) { return false }
            let rest = bytes.count - done
            let n = offset.map { pwrite(fd, bytes.baseAddress! + done, rest, off_t($0) + off_t(done)) } ?? write(fd, bytes.baseAddress! + done, rest)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                if n == 0 { errno = EIO }
                return false
            }
            done += n
        }
        return true
    }

    /// `fsync`, again when a signal interrupts it: true, or false with `errno` set.
    public static func sync(_ fd: Int32) -> Bool {
        while fsync(fd) != 0 {
            if errno != EINTR { return false }
        }
        return true
    }

    /// fsyncs the directory at `path`, so that a new, renamed or removed entry
    /// in it is durable. Best effort: a directory that cannot be opened is left as it is.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
