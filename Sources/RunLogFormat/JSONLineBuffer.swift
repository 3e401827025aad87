// SPDX-License-Identifier: Apache-2.0
/// A scratch buffer that canonical JSON lines are written into with raw
/// stores, then handed to an output array in one copy.
///
/// The writer reserves room for a line before writing it (`reserve`), so the
/// stores need no bounds checks of their own; `room` must be an upper bound
/// of what the line writes. Internal to `CanonicalJSON`'s metrics path, where
/// a line per row is the bulk of a dump.
struct JSONLineBuffer: ~Copyable {
    private let start: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var end: UnsafeMutablePointer<UInt8>

    /// A buffer for lines of at most `lineBound` bytes, several at a time.
    init(lineBound: Int, lines: Int = 64) {
        capacity = lineBound * lines
        start = .allocate(capacity: capacity)
        end = start
    }

    deinit { start.deallocate() }

    /// Makes room for `room` more bytes, moving what is written to `output` if needed.
    @inline(__always)
    mutating func reserve(_ room: Int, flushingTo output: inout [UInt8]) {
        if end + room > start + capacity { flush(to: &output) }
    }

    /// Appends what is written to `output` and empties the buffer.
    mutating func flush(to output: inout [UInt8]) {
        output.append(contentsOf: UnsafeBufferPointer(start: start, count: end - start))
        end = start
    }

    @inline(__always)
    mutating func put(_ s: StaticString) {
        put(s.utf8Start, count: s.utf8CodeUnitCount)
    }

    @inline(__always)
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        put(bytes.baseAddress!, count: bytes.count)
    }

    /// Copies `count` bytes from `source`. Lines are made of short pieces, for
    /// which two overlapping loads and stores beat a call to memmove.
    @inline(__always)
    private mutating func put(_ source: UnsafePointer<UInt8>, count n: Int) {
        let to = UnsafeMutableRawPointer(end)
        let from = UnsafeRawPointer(source)
        func copy<T: FixedWidthInteger>(_: T.Type) {
            let size = MemoryLayout<T>.size
            to.storeBytes(of: from.loadUnaligned(as: T.self), as: T.self)
            (to + n - size).storeBytes(of: (from + n - size).loadUnaligned(as: T.self), as: T.self)
        }
        switch n {
        case 16...32:
            to.storeBytes(of: from.loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
            (to + n - 16).storeBytes(of: (from + n - 16).loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
        case 8..<16: copy(UInt64.self)
        case 4..<8: copy(UInt32.self)
        case 0..<4: for k in 0..<n { end[k] = source[k] }
        default: to.copyMemory(from: from, byteCount: n)
        }
        end += n
    }

    @inline(__always)
    mutating func put(byte: UInt8) {
        end.pointee = byte
        end += 1
    }

    /// An integer, as `JSONNumbers` writes it.
    @inline(__always)
    mutating func put(int v: Int64) {
        end += JSONNumbers.int(negative: v < 0, magnitude: v.magnitude, at: end)
    }

    /// Microseconds as seconds with six fraction digits.
    @inline(__always)
    mutating func put(time micros: Int64) {
        end += JSONNumbers.time(micros, at: end)
    }

    /// A double as spec §6 writes it, NaN and the infinities as strings.
    @inline(__always)
    mutating func put(double d: Double) {
        end += JSONNumbers.double(d, at: end)
    }
}
