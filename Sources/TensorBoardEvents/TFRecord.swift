// SPDX-License-Identifier: Apache-2.0
import RunLogFormat

/// TFRecord framing, as TensorBoard's event files use it: each record is its
/// length (u64 little-endian), the masked CRC32C of those 8 bytes, the data,
/// and the masked CRC32C of the data.
public enum TFRecord {
    /// Bytes of framing around each record.
    public static let overhead = 16

    /// Appends `data` framed as one record.
    public static func append(_ data: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var header = UInt64(data.count).littleEndian
        withUnsafeBytes(of: &header) { h in
            out.append(contentsOf: h)
            appendMasked(CRC32C.checksum(h), to: &out)
        }
        out.append(contentsOf: data)
        appendMasked(CRC32C.checksum(data), to: &out)
    }

    public static func append(_ data: [UInt8], to out: inout [UInt8]) {
        data.withUnsafeBytes { append($0, to: &out) }
    }

    /// Starts a record whose data the caller appends next; returns where it starts.
    @inline(__always)
    static func begin(_ out: inout [UInt8]) -> Int {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: 12))
        return start
    }

    /// Completes the record begun at `start`: its length, header checksum and data checksum.
    static func end(_ out: inout [UInt8], from start: Int) {
        let count = out.count - start - 12
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt64(count).littleEndian, toByteOffset: start, as: UInt64.self)
            let header = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<start + 8]))
            raw.storeBytes(of: CRC32C.mask(header).littleEndian, toByteOffset: start + 8, as: UInt32.self)
        }
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[(start + 12)...])) }
        appendMasked(crc, to: &out)
    }

    @inline(__always)
    static func appendMasked(_ crc: UInt32, to out: inout [UInt8]) {
        withUnsafeBytes(of: CRC32C.mask(crc).littleEndian) { out.append(contentsOf: $0) }
    }

    /// The records of `bytes`, in order, and the offset where the last complete
    /// one ends. Stops at the first record that is incomplete or whose checksums
    /// do not match.
    public static func records(in bytes: [UInt8]) -> (records: [ArraySlice<UInt8>], end: Int) {
        var out: [ArraySlice<UInt8>] = []
        var at = 0
        while bytes.count - at >= overhead {
            let length = bytes[at..<at + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard length <= UInt64(bytes.count - at - overhead) else { break }
            let n = Int(length)
            let headerCRC = bytes[at..<at + 8].withUnsafeBytes { CRC32C.mask(CRC32C.checksum($0)) }
            let dataCRC = bytes[(at + 12)..<(at + 12 + n)].withUnsafeBytes { CRC32C.mask(CRC32C.checksum($0)) }
            guard headerCRC == readU32(bytes, at + 8), dataCRC == readU32(bytes, at + 12 + n) else { break }
            out.append(bytes[(at + 12)..<(at + 12 + n)])
            at += n + overhead
        }
        return (out, at)
    }

    private static func readU32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}
