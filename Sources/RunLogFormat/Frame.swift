// SPDX-License-Identifier: Apache-2.0
/// Constants and encoding of frames (spec §1).
public enum Frame {
    /// `\xd3RLF`.
    public static let magic: [UInt8] = [0xD3, 0x52, 0x4C, 0x46]
    public static let headerSize = 24
    /// Hard limit on a frame's decoded content.
    public static let maxContentLength = 16 << 20
    /// Hard limit on a frame's stored payload.
    public static let maxPayloadLength = (16 << 20) + (64 << 10)
    /// Default bound on content per frame that writers aim for.
    public static let defaultTarget = 64 << 10

    public enum Codec: UInt8, Sendable {
        case none = 0
        case zstd = 1
    }

    /// Encodes `content` (one or more encoded records) as a complete frame.
    public static func encode(
        content: [UInt8], codec: Codec = .zstd, compressor: ZstdCompressor? = nil
    ) throws -> [UInt8] {
        guard !content.isEmpty else { throw FormatError(.invalidValue, "a frame must hold at least one record") }
        guard content.count <= maxContentLength else {
            throw FormatError(.recordTooLarge, "frame content of \(content.count) bytes exceeds the 16 MiB limit")
        }
        var frame = [UInt8](repeating: 0, count: headerSize)
        frame.reserveCapacity(headerSize + content.count / 2 + 64)
        switch codec {
        case .none:
            frame.append(contentsOf: content)
        case .zstd:
            let z = compressor ?? ZstdCompressor()
            try content.withUnsafeBytes { try z.compress($0, appendingTo: &frame) }
        }
        let payloadLength = frame.count - headerSize
        frame.withUnsafeMutableBytes { h in
            magic.withUnsafeBytes { h.copyMemory(from: $0) }
            h.storeBytes(of: UInt32(payloadLength).littleEndian, toByteOffset: 4, as: UInt32.self)
            h.storeBytes(of: UInt32(content.count).littleEndian, toByteOffset: 8, as: UInt32.self)
            h[12] = codec.rawValue
            let headerCRC = CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: h[0..<16])))
            h.storeBytes(of: headerCRC.littleEndian, toByteOffset: 16, as: UInt32.self)
            let payloadCRC = CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: h[headerSize...])))
            h.storeBytes(of: payloadCRC.littleEndian, toByteOffset: 20, as: UInt32.self)
        }
        return frame
    }

    /// Encodes `records` as one frame.
    public static func encode(
        records: [Record], codec: Codec = .zstd, compressor: ZstdCompressor? = nil
    ) throws -> [UInt8] {
        var content: [UInt8] = []
        for r in records { r.encode(into: &content) }
        return try encode(content: content, codec: codec, compressor: compressor)
    }

    /// What a frame header says, once checked.
    struct Header {
        var payloadLength: Int
        var contentLength: Int
        var codec: Codec
        /// The masked CRC32C of the payload, as stored.
        var payloadCRC: UInt32
    }

    enum HeaderCheck {
        case valid(Header)
        case invalid(String)
    }

    /// Checks the 24 header bytes at the start of `h` (rule 2 of spec §2).
    static func checkHeader(_ h: UnsafeRawBufferPointer) -> HeaderCheck {
        precondition(h.count >= headerSize)
        guard h[0] == magic[0], h[1] == magic[1], h[2] == magic[2], h[3] == magic[3] else {
            return .invalid("no frame magic")
        }
        let stored = UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 16, as: UInt32.self))
        guard CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: h[0..<16]))) == stored else {
            return .invalid("frame header checksum mismatch")
        }
        let payloadLength = Int(UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let contentLength = Int(UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        guard let codec = Codec(rawValue: h[12]) else { return .invalid("unknown codec \(h[12])") }
        guard h[13] == 0, h[14] == 0, h[15] == 0 else { return .invalid("reserved frame header bytes are not zero") }
        guard contentLength >= 1, contentLength <= maxContentLength else {
            return .invalid("content length \(contentLength) out of bounds")
        }
        guard payloadLength <= maxPayloadLength, codec != .none || payloadLength == contentLength else {
            return .invalid("payload length \(payloadLength) out of bounds")
        }
        let payloadCRC = UInt32(littleEndian: h.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
        return .valid(Header(payloadLength: payloadLength, contentLength: contentLength, codec: codec, payloadCRC: payloadCRC))
    }
}
