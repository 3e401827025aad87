// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends frames to a run-log file (spec §5).
///
/// Each `append` writes one whole frame at the end of the file, and
/// `appendFrames` several with one `write`. If the write fails part-way (a
/// full disk, an I/O error), the file is cut back to where it began, so the
/// log stays valid and the same frames can be appended again later; the
/// first part of a short write is synced before the rest is written.
/// Nothing else is made durable until `sync()`: a writer whose logs must
/// survive a power loss syncs before appending past an unsynced append
/// (spec §5, the append rule), as the logger's writer thread does.
/// Not thread-safe: one owner at a time.
public final class LogWriter {
    public struct Options: Sendable {
        public var codec: Frame.Codec = .zstd
        public var compressionLevel: Int32 = 1
        public init(codec: Frame.Codec = .zstd, compressionLevel: Int32 = 1) {
            self.codec = codec
            self.compressionLevel = compressionLevel
        }
    }

    public let path: String
    public let header: FileHeader
    /// Bytes in the file: where the next frame goes.
    public private(set) var size: Int64
    private var fd: Int32
    private let options: Options
    private let compressor: ZstdCompressor

    /// Creates a new log at `path` (which must not exist), writes and syncs its header.
    public init(creating path: String, header: FileHeader, options: Options = Options()) throws {
        let bytes = try header.encoded()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogWriter.ioError(path, "cannot create") }
        self.fd = fd
        self.path = path
        self.header = header
        self.options = options
        self.compressor = ZstdCompressor(level: options.compressionLevel)
        self.size = 0
        do {
            try write(bytes)
            try sync()
        } catch {
            Glibc.close(fd)
            unlink(path)
            self.fd = -1
            throw error
        }
    }

    /// Reopens an existing log to continue it: finds the end of its last valid
    /// frame, cuts off the tail after it and syncs the cut. Damage before that
    /// is kept (and reported through `onDamage`).
    public init(appendingTo path: String, options: Options = Options(), onDamage: ((LogReader.Damage) -> Void)? = nil) throws {
        let reader = try LogReader(path: path)
        reader.onDamage = onDamage
        var end = Int64(reader.headerSize)
        while let frame = try reader.next() { end = frame.end }
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LogWriter.ioError(path, "cannot open") }
        self.fd = fd
        self.path = path
        self.header = reader.header
        self.options = options
        self.compressor = ZstdCompressor(level: options.compressionLevel)
        self.size = end
        let cut = ftruncate(fd, off_t(end)) == 0
        guard cut, SystemCall.sync(fd) else {
            let e = LogWriter.ioError(path, cut ? "fsync failed" : "cannot truncate the tail")
            Glibc.close(fd)
            self.fd = -1
            throw e
        }
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Encodes `records` as one frame and appends it. Returns the frame's offset.
    @discardableResult
    public func append(_ records: [Record]) throws -> Int64 {
        var content: [UInt8] = []
        for r in records { r.encode(into: &content) }
        return try append(content: content)
    }

    /// Appends one frame holding `content`, a sequence of encoded records.
    @discardableResult
    public func append(content: [UInt8]) throws -> Int64 {
        let frame = try Frame.encode(content: content, codec: options.codec, compressor: compressor)
        return try appendFrame(frame)
    }

    /// Appends an already encoded frame (from `Frame.encode`).
    @discardableResult
    public func appendFrame(_ frame: [UInt8]) throws -> Int64 {
        let at = size
        try write(frame)
        return at
    }

    /// Appends already encoded frames with one `write`. Returns the first one's offset.
    @discardableResult
    public func appendFrames(_ frames: ArraySlice<[UInt8]>) throws -> Int64 {
        if frames.count == 1 { return try appendFrame(frames[frames.startIndex]) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frames.reduce(0) { $0 + $1.count })
        for frame in frames { bytes += frame }
        return try appendFrame(bytes)
    }

    /// Makes everything appended so far durable (fsync).
    public func sync() throws {
        guard fd >= 0 else { throw FormatError(.io, "\(path): writer is closed") }
        guard SystemCall.sync(fd) else { throw LogWriter.ioError(path, "fsync failed") }
    }

    /// Syncs and closes the file.
    public func close() throws {
        guard fd >= 0 else { return }
        defer { Glibc.close(fd); fd = -1 }
        try sync()
    }

    private func write(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw FormatError(.io, "\(path): writer is closed") }
        let start = size
        guard bytes.withUnsafeBytes({ SystemCall.writeAll(fd, $0, at: start, syncParts: true) }) else {
            let error = LogWriter.ioError(path, "write failed", offset: start)
            _ = ftruncate(fd, off_t(start))  // keep the log valid: no torn frame before the next one
            throw error
        }
        size = start + Int64(bytes.count)
    }

    static func ioError(_ path: String, _ what: String, offset: Int64? = nil) -> FormatError {
        let e = errno
        return FormatError(.io, "\(path): \(what): \(SystemCall.errorText(e))", offset: offset, errno: e)
    }
}
