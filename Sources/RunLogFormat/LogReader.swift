// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the frames of a run log, from a file that may still be growing or
/// from memory, following the reading rules of spec §2.
///
/// `next()` returns the next valid frame, or nil at the tail: the bytes
/// after the last valid frame, which are "not written yet". Calling `next()`
/// again later picks up frames written since. Damage between valid frames is
/// reported through `onDamage` with the bytes dropped, and reading goes on.
/// Memory is bounded by the format's frame limits whatever the input says.
public final class LogReader {
    /// Bytes that were skipped because they did not form a valid frame or record.
    public struct Damage: Sendable, Equatable, CustomStringConvertible {
        /// Offset in the file of the first byte dropped (for a malformed record: of its frame).
        public var offset: Int64
        /// Bytes dropped: file bytes for damaged frames, content bytes for a malformed record.
        public var length: Int64
        public var reason: String

        public init(offset: Int64, length: Int64, reason: String) {
            self.offset = offset
            self.length = length
            self.reason = reason
        }

        public var description: String { "offset \(offset): \(length) bytes dropped: \(reason)" }
    }

    /// A valid frame and its records.
    public struct DecodedFrame: Sendable {
        public var offset: Int64
        /// Bytes of the frame in the file, header included.
        public var size: Int
        public var records: [Record]
        public var end: Int64 { offset + Int64(size) }
    }

    /// What lies after the last valid frame.
    public struct Tail: Sendable, Equatable, CustomStringConvertible {
        public var offset: Int64
        public var length: Int64
        public var reason: String
        public init(offset: Int64, length: Int64, reason: String) {
            self.offset = offset
            self.length = length
            self.reason = reason
        }

        public var description: String { "\(length) bytes at offset \(offset) not yet a frame: \(reason)" }
    }

    public let header: FileHeader
    public let headerSize: Int
    /// Where the next frame is expected.
    public private(set) var offset: Int64
    /// Called for each stretch of damage found.
    public var onDamage: ((Damage) -> Void)?
    /// A name for messages: the path, or "<memory>".
    public let name: String

    private let source: ByteSource
    private var window: [UInt8] = []
    private var windowStart: Int64 = 0
    private var content: [UInt8] = []
    private let decompressor = ZstdDecompressor()
    private static let chunk = 1 << 20

    /// Opens a log. Throws `.headerIncomplete` when the header is not all
    /// written yet, `.notARunLog` or `.unsupportedVersion` when it is wrong.
    /// Reading starts at `offset` (a frame boundary, e.g. one saved from
    /// `DecodedFrame.end`) or just after the header.
    public init(source: ByteSource, name: String = "<memory>", from offset: Int64? = nil) throws {
        self.source = source
        self.name = name
        var head = [UInt8](repeating: 0, count: FileHeader.minimumSize + FileHeader.maxBodyLength)
        let n = try head.withUnsafeMutableBytes { try source.read(into: $0, at: 0) }
        switch head.withUnsafeBytes({ FileHeader.decode(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) {
        case .header(let h, let size):
            header = h
            headerSize = size
        case .incomplete:
            throw FormatError(.headerIncomplete, "\(name): header not written yet (\(n) bytes)", offset: Int64(n))
        case .invalid(let e):
            throw FormatError(e.code, "\(name): \(e.message)", offset: e.offset)
        }
        self.offset = max(offset ?? Int64(headerSize), Int64(headerSize))
    }

    public convenience init(path: String, from offset: Int64? = nil) throws {
        try self.init(source: FileSource(path: path), name: path, from: offset)
    }

    /// Moves the reader to `offset` (at least the end of the header). Off a
    /// frame boundary, the bytes up to the next whole frame are reported as damage.
    public func seek(to offset: Int64) {
        self.offset = max(offset, Int64(headerSize))
    }

    /// The next valid frame, or nil when the reader is at the tail.
    public func next() throws -> DecodedFrame? {
        switch try check(at: offset) {
        case .frame(let size):
            return finish(at: offset, size: size)
        case .needMore:
            dropWindow()
            return nil
        case .invalid(let reason):
            // Resynchronise: the next offset at which a whole valid frame starts.
            let size = try source.size()
            var q = offset + 1
            while q + Int64(Frame.headerSize) <= size {
                guard let found = try findMagic(from: q, limit: size) else { break }
                q = found
                switch try check(at: q) {
                case .frame(let frameSize):
                    onDamage?(Damage(offset: offset, length: q - offset, reason: reason))
                    offset = q
                    return finish(at: q, size: frameSize)
                case .needMore:
                    dropWindow()
                    return nil
                case .invalid:
                    q += 1
                }
            }
            dropWindow()
            return nil
        }
    }

    /// Describes the bytes after the last valid frame, or nil when there are none.
    /// Call after `next()` returned nil.
    public func tail() throws -> Tail? {
        let size = try source.size()
        guard size > offset else { return nil }
        let length = size - offset
        let reason: String
        if length < Int64(Frame.headerSize) {
            reason = "incomplete frame header"
        } else {
            switch try check(at: offset) {
            case .needMore: reason = "incomplete frame"
            case .invalid(let r): reason = r
            case .frame: reason = "a frame was completed meanwhile"
            }
            dropWindow()
        }
        return Tail(offset: offset, length: length, reason: reason)
    }

    // MARK: - Internals

    private enum Check {
        case frame(size: Int)
        case needMore
        case invalid(String)
    }

    /// Checks the frame at `at`; on `.frame` the decoded content is in `content`.
    private func check(at position: Int64) throws -> Check {
        guard try ensure(position, Frame.headerSize) else { return .needMore }
        let header: Frame.Header
        let headerStart = Int(position - windowStart)
        switch window.withUnsafeBytes({ Frame.checkHeader(UnsafeRawBufferPointer(rebasing: $0[headerStart...])) }) {
        case .valid(let h): header = h
        case .invalid(let reason): return .invalid(reason)
        }
        let total = Frame.headerSize + header.payloadLength
        guard try ensure(position, total) else { return .needMore }
        let start = Int(position - windowStart)
        let ok: Bool = window.withUnsafeBytes { w in
            let payload = UnsafeRawBufferPointer(rebasing: w[(start + Frame.headerSize)..<(start + total)])
            guard CRC32C.mask(CRC32C.checksum(payload)) == header.payloadCRC else { return false }
            switch header.codec {
            case .none:
                content = Array(payload)
                return true
            case .zstd:
                return decompressor.decompress(payload, contentLength: header.contentLength, into: &content)
            }
        }
        if !ok {
            return .invalid("frame payload checksum mismatch or undecodable payload")
        }
        return .frame(size: total)
    }

    private func finish(at position: Int64, size: Int) -> DecodedFrame {
        let records = RecordDecoder.decode(content) { at, reason in
            onDamage?(Damage(offset: position, length: Int64(content.count - at), reason: "\(reason) at content byte \(at)"))
        }
        offset = position + Int64(size)
        return DecodedFrame(offset: position, size: size, records: records)
    }

    /// Makes the window cover `[position, position + count)`; false at end of data.
    private func ensure(_ position: Int64, _ count: Int) throws -> Bool {
        if position >= windowStart, position + Int64(count) <= windowStart + Int64(window.count) { return true }
        // Read at least `count`, ahead up to a chunk, but never past the end of the data.
        let available = try source.size() - position
        guard available >= Int64(count) else { return false }
        let want = max(count, Int(min(Int64(Self.chunk), available)))
        if window.count != want { window = [UInt8](repeating: 0, count: want) }
        let n = try window.withUnsafeMutableBytes { try source.read(into: $0, at: position) }
        windowStart = position
        if n < want { window.removeSubrange(n...) }
        return n >= count
    }

    private func dropWindow() {
        window = []
        windowStart = 0
    }

    /// The offset of the next frame-magic start byte at or after `from`.
    private func findMagic(from: Int64, limit: Int64) throws -> Int64? {
        var q = from
        while q < limit {
            // Holes read as zeros and hold no frame magic: skip them without reading.
            q = source.nextData(atOrAfter: q)
            guard q < limit else { return nil }
            let count = Int(min(Int64(Self.chunk), limit - q))
            guard try ensure(q, count) else { return nil }
            let start = Int(q - windowStart)
            let hit: Int? = window.withUnsafeBytes { w in
                guard let p = memchr(w.baseAddress! + start, Int32(Frame.magic[0]), count) else { return nil }
                return w.baseAddress!.distance(to: UnsafeRawPointer(p))
            }
            if let hit { return windowStart + Int64(hit) }
            q += Int64(count)
        }
        return nil
    }
}
