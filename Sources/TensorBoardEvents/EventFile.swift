// SPDX-License-Identifier: Apache-2.0
import RunLogFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an event file could not be written: the file, what was being done,
/// and the system's reason, as one line.
public struct EventFileError: Error, CustomStringConvertible, Sendable {
    public enum Operation: String, Sendable {
        case createDirectory = "cannot create directory"
        case open = "cannot open"
        case write = "cannot write"
        case sync = "cannot sync"
        case truncate = "cannot truncate"
    }
    public var path: String
    public var operation: Operation
    public var errno: Int32

    /// Whether the condition may pass by itself (a full disk, a quota, an I/O
    /// error), as opposed to one that needs a person (permissions, a file in the way).
    public var isTransient: Bool { [ENOSPC, EDQUOT, EIO, EINTR, EAGAIN, ENOMEM].contains(errno) }

    public var description: String { "\(path): \(operation.rawValue): \(SystemCall.errorText(errno))" }
}

/// One event file, appended to; its length is what has been written whole.
///
/// `open(…, length:)` cuts the file to `length` bytes first: whatever a crash
/// left after the last acknowledged write (a torn event, or events written but
/// not acknowledged) is removed, and the writer that resends them writes the
/// same bytes again at the same place. A failed append is cut off too, so the
/// file never holds part of a batch after an error.
public final class EventFile {
    public let path: String
    /// The file's name in its directory.
    public let name: String
    public private(set) var length: Int64
    private var fd: Int32

    /// Opens (creating it and its directories if needed) the file `name` in
    /// `directory`, cut to `length` bytes (nil: to nothing).
    public init(directory: String, name: String, length: Int64? = nil) throws {
        try Self.makeDirectories(directory)
        path = directory + "/" + name
        self.name = name
        fd = SystemOpen(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw EventFileError(path: path, operation: .open, errno: errno) }
        self.length = length ?? 0
        var st = stat()
        if fstat(fd, &st) != 0 || Int64(st.st_size) != self.length {
            guard ftruncate(fd, off_t(self.length)) == 0 else {
                let e = errno
                SystemClose(fd)
                throw EventFileError(path: path, operation: .truncate, errno: e)
            }
        }
    }

    deinit { if fd >= 0 { SystemClose(fd) } }

    /// Writes `bytes` at the end. On failure the file is cut back to its length before.
    public func append(_ bytes: [UInt8]) throws {
        guard bytes.withUnsafeBytes({ SystemCall.writeAll(fd, $0, at: Int64(length)) }) else {
            let e = errno
            _ = ftruncate(fd, off_t(length))
            throw EventFileError(path: path, operation: .write, errno: e)
        }
        length += Int64(bytes.count)
    }

    /// Cuts the file back to `length` bytes (after a batch that failed part-way); best effort.
    public func cut(to length: Int64) {
        if ftruncate(fd, off_t(length)) == 0 { self.length = length }
    }

    /// Makes what was appended durable.
    public func sync() throws {
        guard fsync(fd) == 0 else { throw EventFileError(path: path, operation: .sync, errno: errno) }
    }

    /// Creates `path` and its missing parents (`mkdir -p`); the error names the one that failed.
    public static func makeDirectories(_ path: String) throws(EventFileError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw EventFileError(path: prefix, operation: .createDirectory, errno: errno)
            }
            prefix += "/"
        }
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw EventFileError(path: path, operation: .createDirectory, errno: ENOTDIR)
        }
    }
}

@inline(__always) private func SystemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
@inline(__always) private func SystemClose(_ fd: Int32) { _ = close(fd) }
