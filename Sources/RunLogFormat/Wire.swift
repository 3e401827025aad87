// SPDX-License-Identifier: Apache-2.0
// The field encoding of spec/format.md §1: varints, zigzag, and
// Protocol-Buffers-style keyed fields.

enum WireType: UInt8 {
    case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
}

@inline(__always)
func zigzag(_ n: Int64) -> UInt64 { UInt64(bitPattern: (n << 1) ^ (n >> 63)) }

@inline(__always)
func unzigzag(_ n: UInt64) -> Int64 { Int64(bitPattern: n >> 1) ^ -Int64(bitPattern: n & 1) }

extension Array where Element == UInt8 {
    /// Appends `value` as a base-128 varint, low groups first (as Protocol Buffers writes them).
    @inlinable @inline(__always)
    public mutating func appendVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        append(UInt8(v))
    }
}

/// Appends encoded fields to a byte array.
struct WireWriter {
    var bytes: [UInt8]

    init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    mutating func varint(_ value: UInt64) { bytes.appendVarint(value) }

    @inline(__always)
    mutating func key(_ field: Int, _ type: WireType) {
        varint(UInt64(field) << 3 | UInt64(type.rawValue))
    }

    mutating func fixed64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func fixed32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    // Fields. Defaults are omitted unless `always` is set.

    mutating func uint(_ field: Int, _ value: UInt64, always: Bool = false) {
        guard value != 0 || always else { return }
        key(field, .varint)
        varint(value)
    }

    mutating func sint(_ field: Int, _ value: Int64, always: Bool = false) {
        guard value != 0 || always else { return }
        key(field, .varint)
        varint(zigzag(value))
    }

    mutating func bool(_ field: Int, _ value: Bool) {
        guard value else { return }
        key(field, .varint)
        varint(1)
    }

    mutating func double(_ field: Int, _ value: Double, always: Bool = false) {
        guard value.bitPattern != 0 || always else { return }
        key(field, .fixed64)
        fixed64(value.bitPattern)
    }

    mutating func string(_ field: Int, _ value: String, always: Bool = false) {
        guard !value.isEmpty || always else { return }
        key(field, .lengthDelimited)
        var s = value
        s.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func bytesField(_ field: Int, _ value: [UInt8], always: Bool = false) {
        guard !value.isEmpty || always else { return }
        key(field, .lengthDelimited)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// Writes a length-delimited field whose body `body` appends to this writer.
    mutating func message(_ field: Int, _ body: (inout WireWriter) -> Void) {
        var inner = WireWriter()
        body(&inner)
        key(field, .lengthDelimited)
        varint(UInt64(inner.bytes.count))
        bytes.append(contentsOf: inner.bytes)
    }
}

/// Reads encoded bytes. `read*` moves the cursor; on too little input it
/// returns nil and leaves the cursor where it was.
struct WireReader {
    let base: UnsafeRawBufferPointer
    private(set) var index: Int
    let end: Int

    init(_ buffer: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil) {
        base = buffer
        index = start
        self.end = end ?? buffer.count
    }

    var isAtEnd: Bool { index >= end }
    var remaining: Int { end - index }

    @inline(__always)
    mutating func readVarint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        var i = index
        while i < end {
            let byte = base[i]
            i += 1
            if shift == 63 && byte > 1 { return nil }  // overflows 64 bits
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                index = i
                return result
            }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    mutating func readFixed64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        let v = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
        index += 8
        return UInt64(littleEndian: v)
    }

    mutating func readFixed32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        let v = base.loadUnaligned(fromByteOffset: index, as: UInt32.self)
        index += 4
        return UInt32(littleEndian: v)
    }

    /// Reads a varint length and returns the range of that many bytes.
    mutating func readLengthDelimited() -> Range<Int>? {
        let saved = index
        guard let n = readVarint(), n <= UInt64(remaining) else {
            index = saved
            return nil
        }
        let r = index..<(index + Int(n))
        index += Int(n)
        return r
    }

    /// Reads a field key. Returns nil at a malformed key.
    mutating func readKey() -> (field: Int, type: WireType)? {
        let saved = index
        guard let k = readVarint(), let t = WireType(rawValue: UInt8(k & 7)), k >> 3 >= 1, k >> 3 <= UInt64(Int32.max)
        else {
            index = saved
            return nil
        }
        return (Int(k >> 3), t)
    }

    /// The value of a field of any wire type, as raw pieces, for callers
    /// that switch on the field number.
    enum FieldValue {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(Range<Int>)

        var uint: UInt64? { if case .varint(let v) = self { return v } else { return nil } }
        var sint: Int64? { uint.map(unzigzag) }
        var double: Double? { if case .fixed64(let v) = self { return Double(bitPattern: v) } else { return nil } }
        var range: Range<Int>? { if case .bytes(let r) = self { return r } else { return nil } }
    }

    /// Reads every field up to `end`, calling `body` for each. Returns false
    /// when the fields are malformed or `body` returns false.
    mutating func forEachField(_ body: (Int, FieldValue) -> Bool) -> Bool {
        while !isAtEnd {
            guard let (field, type) = readKey() else { return false }
            let value: FieldValue
            switch type {
            case .varint:
                guard let v = readVarint() else { return false }
                value = .varint(v)
            case .fixed64:
                guard let v = readFixed64() else { return false }
                value = .fixed64(v)
            case .fixed32:
                guard let v = readFixed32() else { return false }
                value = .fixed32(v)
            case .lengthDelimited:
                guard let r = readLengthDelimited() else { return false }
                value = .bytes(r)
            }
            if !body(field, value) { return false }
        }
        return true
    }

    func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: base[r]), as: UTF8.self)
    }

    func byteArray(_ r: Range<Int>) -> [UInt8] {
        Array(UnsafeRawBufferPointer(rebasing: base[r]))
    }

    func sub(_ r: Range<Int>) -> WireReader {
        WireReader(base, from: r.lowerBound, to: r.upperBound)
    }
}
