// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens files for reading only when they are regular files, without
/// following a symbolic link and without ever blocking in `open`.
///
/// A FIFO, socket or device named like a log, checkpoint, liveness or state
/// file (anyone who can write to a shared root can make one) would block a
/// plain `open` or `read` forever. `open` here checks the name with `lstat`,
/// opens it with `O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC` (so a file swapped for
/// a FIFO in between still cannot block), and checks the descriptor with
/// `fstat`. Every refusal is a `FormatError` with code `.notRegularFile`.
public enum RegularFile {
    /// A descriptor open read-only on the regular file at `path`; the caller closes it.
    /// With `followingLink`, a path that is a symbolic link (a file named
    /// explicitly by an operator, e.g. a mounted secret) is opened at its target.
    public static func open(_ path: String, followingLink: Bool = false) throws(FormatError) -> Int32 {
        if followingLink, let target = resolved(path), target != path { return try open(target) }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw ioError(path, errno) }
        try requireRegular(path, st.st_mode)
        let fd = openNonBlocking(path)
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP { throw FormatError(.notRegularFile, "\(path): a symbolic link, not a regular file; not read", errno: e) }
            throw ioError(path, e)
        }
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw ioError(path, e)
        }
        do {
            try requireRegular(path, st.st_mode)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// The whole content of the regular file at `path`, refused when it
    /// holds more than `limit` bytes.
    public static func contents(_ path: String, limit: Int, followingLink: Bool = false) throws(FormatError) -> [UInt8] {
        let fd = try open(path, followingLink: followingLink)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ioError(path, errno) }
        guard st.st_size <= limit else {
            throw FormatError(.recordTooLarge, "\(path): \(st.st_size) bytes, more than the \(limit) such a file may hold; not read")
        }
        var out = [UInt8](repeating: 0, count: Int(st.st_size) + 1)
        var done = 0
        while done < out.count {
            let n = out.withUnsafeMutableBytes { SystemCall.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[done...])) }
            if n < 0 { throw ioError(path, errno) }
            if n == 0 { break }
            done += n
        }
        guard done <= limit else {
            throw FormatError(.recordTooLarge, "\(path): more than the \(limit) bytes such a file may hold; not read")
        }
        return Array(out[0..<done])
    }

    /// Whether `path` names a regular file itself (not through a symbolic link).
    public static func isRegular(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// The absolute path with every symbolic link resolved (`realpath`); nil when it cannot be.
    public static func resolved(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    private static func requireRegular(_ path: String, _ mode: mode_t) throws(FormatError) {
        let type = mode & S_IFMT
        guard type != S_IFREG else { return }
        throw FormatError(.notRegularFile, "\(path): \(describe(type)), not a regular file; not read")
    }

    private static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symbolic link"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "a special file"
        }
    }

    private static func ioError(_ path: String, _ e: Int32) -> FormatError {
        FormatError(.io, "\(path): \(SystemCall.errorText(e))", errno: e)
    }
}

private func openNonBlocking(_ path: String) -> Int32 {
    #if canImport(Glibc)
    Glibc.open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
    #else
    Darwin.open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
    #endif
}
