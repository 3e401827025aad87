// SPDX-License-Identifier: Apache-2.0
import CDecimal

/// The numbers of canonical JSON (spec §6) written at a pointer: one
/// implementation for `CanonicalJSON`'s scalar writers and for the raw line
/// buffer of its metrics rows. Each writes at most `maxBytes` bytes and
/// returns how many it wrote.
enum JSONNumbers {
    /// Room any one number needs: a double takes at most 24 bytes, a time 21.
    static var maxBytes: Int { Int(RUNLOG_DOUBLE_TEXT_MAX) }

    /// An integer given as its sign and magnitude.
    @inline(__always)
    static func int(negative: Bool, magnitude: UInt64, at p: UnsafeMutablePointer<UInt8>) -> Int {
        if negative { p.pointee = UInt8(ascii: "-") }
        let sign = negative ? 1 : 0
        return sign + digits(magnitude, minimumCount: 1, at: p + sign)
    }

    /// Microseconds as seconds with exactly six fraction digits.
    @inline(__always)
    static func time(_ micros: Int64, at p: UnsafeMutablePointer<UInt8>) -> Int {
        if micros < 0 { p.pointee = UInt8(ascii: "-") }
        var n = micros < 0 ? 1 : 0
        let (seconds, fraction) = micros.magnitude.quotientAndRemainder(dividingBy: 1_000_000)
        n += digits(seconds, minimumCount: 1, at: p + n)
        p[n] = UInt8(ascii: ".")
        return n + 1 + digits(fraction, minimumCount: 6, at: p + n + 1)
    }

    /// The shortest round-trip form, as Python's `repr`; NaN and the
    /// infinities as the JSON strings "NaN", "Infinity" and "-Infinity".
    @inline(__always)
    static func double(_ d: Double, at p: UnsafeMutablePointer<UInt8>) -> Int {
        if d.isFinite {
            return p.withMemoryRebound(to: CChar.self, capacity: maxBytes) { runlog_format_double(d, $0) }
        }
        let text: StaticString = d.isNaN ? #""NaN""# : d < 0 ? #""-Infinity""# : #""Infinity""#
        p.update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        return text.utf8CodeUnitCount
    }

    /// `n` in decimal, zero-padded to `minimumCount` digits (at most 20).
    @inline(__always)
    private static func digits(_ n: UInt64, minimumCount: Int32, at p: UnsafeMutablePointer<UInt8>) -> Int {
        p.withMemoryRebound(to: CChar.self, capacity: 20) { runlog_format_uint64(n, minimumCount, $0) }
    }
}
