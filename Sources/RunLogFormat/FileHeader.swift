// SPDX-License-Identifier: Apache-2.0
/// The header at the start of every log file (spec §3).
public struct FileHeader: Sendable, Equatable {
    /// `\x89RLOG\r\n\x1a`.
    public static let magic: [UInt8] = [0x89, 0x52, 0x4C, 0x4F, 0x47, 0x0D, 0x0A, 0x1A]
    public static let version: UInt16 = 1
    public static let maxBodyLength = 4096
    /// Bytes of a header with an empty body; no file shorter than this is a log.
    public static let minimumSize = 20

    public var runID: String
    public var attempt: UInt64
    public var rank: UInt64
    public var segment: UInt64
    /// Microseconds since the Unix epoch.
    public var created: Int64
    public var writer: String

    public init(runID: String, attempt: UInt64 = 1, rank: UInt64 = 0, segment: UInt64 = 0, created: Int64, writer: String) {
        self.runID = runID
        self.attempt = attempt
        self.rank = rank
        self.segment = segment
        self.created = created
        self.writer = writer
    }

    /// Whether `id` is 1 to 64 bytes of `[A-Za-z0-9._-]`.
    public static func isValidRunID(_ id: String) -> Bool {
        let utf8 = id.utf8
        return (1...64).contains(utf8.count) && utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }

    /// The encoded header.
    public func encoded() throws -> [UInt8] {
        guard Self.isValidRunID(runID) else {
            throw FormatError(.invalidValue, "run id '\(runID)' must be 1 to 64 characters of A-Z a-z 0-9 . _ -")
        }
        var body = WireWriter()
        body.string(1, runID, always: true)
        body.uint(2, attempt, always: true)
        body.uint(3, rank)
        body.uint(4, segment)
        body.sint(5, created)
        body.string(6, writer)
        guard body.bytes.count <= Self.maxBodyLength else {
            throw FormatError(.invalidValue, "file header exceeds \(Self.maxBodyLength) bytes")
        }
        var out = Self.magic
        withUnsafeBytes(of: Self.version.littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: [0, 0])
        withUnsafeBytes(of: UInt32(body.bytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: body.bytes)
        let crc = CRC32C.mask(CRC32C.checksum(out))
        withUnsafeBytes(of: crc.littleEndian) { out.append(contentsOf: $0) }
        return out
    }

    public enum DecodeResult: Sendable {
        /// The header and its size in bytes.
        case header(FileHeader, size: Int)
        /// Too few bytes yet; `needed` is how many the header needs in all, when known.
        case incomplete(needed: Int?)
        case invalid(FormatError)
    }

    /// Decodes the header at the start of `bytes`.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeResult {
        let prefix = min(bytes.count, 8)
        for i in 0..<prefix where bytes[i] != magic[i] {
            return .invalid(FormatError(.notARunLog, "not a run log (bad magic)", offset: 0))
        }
        guard bytes.count >= minimumSize else { return .incomplete(needed: nil) }
        let version = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
        let flags = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 10, as: UInt16.self))
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self)))
        guard length <= maxBodyLength else {
            return .invalid(FormatError(.notARunLog, "not a run log (header length \(length) exceeds 4096)", offset: 12))
        }
        let size = minimumSize + length
        guard bytes.count >= size else { return .incomplete(needed: size) }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 16 + length, as: UInt32.self))
        guard CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<(16 + length)]))) == stored else {
            return .invalid(FormatError(.notARunLog, "not a run log (header checksum mismatch)", offset: Int64(16 + length)))
        }
        guard version == Self.version else {
            return .invalid(FormatError(.unsupportedVersion, "unsupported format version \(version)", offset: 8))
        }
        guard flags == 0 else {
            return .invalid(FormatError(.unsupportedVersion, "unsupported header flags 0x\(String(flags, radix: 16))", offset: 10))
        }
        var r = WireReader(bytes, from: 16, to: 16 + length)
        let src = r
        var h = FileHeader(runID: "", attempt: 0, created: 0, writer: "")
        let ok = r.forEachField { field, v in
            switch field {
            case 1: guard let x = v.range else { return false }; h.runID = src.string(x)
            case 2: guard let x = v.uint else { return false }; h.attempt = x
            case 3: guard let x = v.uint else { return false }; h.rank = x
            case 4: guard let x = v.uint else { return false }; h.segment = x
            case 5: guard let x = v.sint else { return false }; h.created = x
            case 6: guard let x = v.range else { return false }; h.writer = src.string(x)
            default: break
            }
            return true
        }
        guard ok, isValidRunID(h.runID) else {
            return .invalid(FormatError(.notARunLog, "not a run log (header fields malformed or run id invalid)", offset: 16))
        }
        return .header(h, size: size)
    }
}
