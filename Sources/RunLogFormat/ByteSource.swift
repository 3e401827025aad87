// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a reader gets bytes: a file that may still be growing, or memory.
public protocol ByteSource: AnyObject {
    /// The current size in bytes.
    func size() throws -> Int64
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read
    /// (fewer only at the end of the data).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int
    /// The first offset at or after `offset` that may hold data other than
    /// zeros; a source that knows of holes (a sparse file) skips them.
    func nextData(atOrAfter offset: Int64) -> Int64
}

extension ByteSource {
    public func nextData(atOrAfter offset: Int64) -> Int64 { offset }
}

/// Bytes in memory.
public final class MemorySource: ByteSource {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func size() -> Int64 { Int64(bytes.count) }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int {
        guard offset < bytes.count else { return 0 }
        let n = min(buffer.count, bytes.count - Int(offset))
        bytes.withUnsafeBytes { src in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[Int(offset)..<(Int(offset) + n)]))
        }
        return n
    }
}

/// A regular file opened read-only. The file may grow while it is read.
public final class FileSource: ByteSource {
    public let path: String
    private let fd: Int32

    /// Opens `path` only if it is a regular file (`RegularFile.open`): a
    /// FIFO, device, directory or symbolic link is refused with a `FormatError`.
    public init(path: String) throws {
        self.path = path
        self.fd = try RegularFile.open(path)
    }

    deinit { close(fd) }

    public func size() throws -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            throw FormatError(.io, "\(path): \(SystemCall.errorText(e))", errno: e)
        }
        return Int64(st.st_size)
    }

    /// Skips holes with `lseek(SEEK_DATA)` where the file system supports it.
    public func nextData(atOrAfter offset: Int64) -> Int64 {
        let next = lseek(fd, off_t(offset), 3)  // SEEK_DATA (3 on Linux and macOS; hidden behind _GNU_SOURCE)
        if next >= 0 { return max(offset, Int64(next)) }
        if errno == ENXIO, let size = try? size() { return max(offset, size) }  // only a hole until the end
        return offset
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = SystemCall.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + Int64(done))
            if n < 0 {
                let e = errno
                throw FormatError(.io, "\(path): read failed: \(SystemCall.errorText(e))", offset: offset + Int64(done), errno: e)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }
}
