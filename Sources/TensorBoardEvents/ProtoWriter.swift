// SPDX-License-Identifier: Apache-2.0
import RunLogFormat

/// A protocol-buffer encoder for the few messages TensorBoard reads: fields
/// are appended in the order written, nested messages get their length
/// prefixed once they are complete.
struct ProtoWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func varint(_ v: UInt64) { bytes.appendVarint(v) }

    mutating func key(_ field: Int, _ wireType: UInt8) { varint(UInt64(field) << 3 | UInt64(wireType)) }

    /// An int64, uint64 or enum field (wire type 0); negative numbers take ten bytes, as protobuf says.
    mutating func int(_ field: Int, _ v: Int64) {
        key(field, 0)
        varint(UInt64(bitPattern: v))
    }

    mutating func bool(_ field: Int, _ v: Bool) { int(field, v ? 1 : 0) }

    mutating func double(_ field: Int, _ v: Double) {
        key(field, 1)
        rawDouble(v)
    }

    mutating func rawDouble(_ v: Double) {
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytesField(_ field: Int, _ b: some Collection<UInt8>) {
        key(field, 2)
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    mutating func string(_ field: Int, _ s: String) {
        var s = s
        s.withUTF8 { bytesField(field, $0) }
    }

    /// A packed repeated double field.
    mutating func doubles(_ field: Int, _ values: some Collection<Double>) {
        key(field, 2)
        varint(UInt64(values.count * 8))
        for v in values { rawDouble(v) }
    }

    /// A nested message: `body` appends its fields, then its length is put before them.
    mutating func message(_ field: Int, _ body: (inout ProtoWriter) -> Void) {
        key(field, 2)
        let start = bytes.count
        bytes.append(0)
        body(&self)
        let length = bytes.count - start - 1
        if length < 0x80 {
            bytes[start] = UInt8(length)
        } else {
            var prefix = ProtoWriter(capacity: 10)
            prefix.varint(UInt64(length))
            bytes.replaceSubrange(start..<start + 1, with: prefix.bytes)
        }
    }
}
