// SPDX-License-Identifier: Apache-2.0
import RunLayout
/// Locale-independent text forms of numbers, times and sizes.
///
/// Doubles print as the shortest decimal that reads back as the same value
/// (what Swift's `description` gives, whatever the locale), NaN and the
/// infinities as `nan`, `inf` and `-inf`.
enum Formatting {
    /// The shortest round-trip form of `d`.
    static func double(_ d: Double) -> String { HumanText.double(d) }

    /// Appends `double(d)` to `out` as UTF-8.
    static func append(double d: Double, to out: inout [UInt8]) {
        var s = double(d)
        s.withUTF8 { out.append(contentsOf: $0) }
    }

    /// Microseconds since the epoch as `2026-11-26T15:52:37.123456Z` (UTC).
    static func timestamp(_ micros: Int64) -> String {
        let (seconds, fraction) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        let (s, f) = fraction < 0 ? (seconds - 1, fraction + 1_000_000) : (seconds, fraction)
        return dateTime(s) + "." + pad(f, 6) + "Z"
    }

    /// Microseconds since the epoch of `2026-11-26T15:40:52Z`, with an optional
    /// fraction of up to 6 digits and an optional `Z` (UTC); nil when malformed.
    static func parseTimestamp(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= b.count else { return nil }
            var n: Int64 = 0
            for c in b[from..<from + count] {
                guard (0x30...0x39).contains(c) else { return nil }
                n = n * 10 + Int64(c - 0x30)
            }
            return n
        }
        guard b.count >= 19, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54 || b[10] == 0x20, b[13] == 0x3A, b[16] == 0x3A,
            let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2),
            let s = num(17, 2), (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61
        else { return nil }
        var i = 19
        var micros: Int64 = 0
        if i < b.count, b[i] == 0x2E {
            var digits = 0
            i += 1
            while i < b.count, (0x30...0x39).contains(b[i]) {
                guard digits < 6 else { return nil }
                micros = micros * 10 + Int64(b[i] - 0x30)
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<6 { micros *= 10 }
        }
        if i < b.count, b[i] == 0x5A { i += 1 }
        guard i == b.count else { return nil }
        // Days from the civil date (H. Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = yy / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1
        let days = era * 146_097 + (yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719_468
        return ((days * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000) + micros
    }

    /// Seconds since the epoch as `2026-11-26 15:52:37` (UTC), for tables.
    static func shortTimestamp(seconds: Int64) -> String {
        dateTime(seconds, separator: " ")
    }

    /// `YYYY-MM-DDTHH:MM:SS` for whole seconds since the epoch (proleptic Gregorian, UTC).
    static func dateTime(_ seconds: Int64, separator: String = "T") -> String {
        var (days, secs) = seconds.quotientAndRemainder(dividingBy: 86_400)
        if secs < 0 { secs += 86_400; days -= 1 }
        // Civil date from a day number (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))\(separator)\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
    }

    /// A duration in microseconds as `1h 02m 03s`, `4m 05.2s` or `0.25s`.
    static func duration(micros: Int64) -> String {
        let negative = micros < 0
        let m = micros.magnitude
        let total = m / 1_000_000
        let body: String
        if total >= 86_400 {
            body = "\(total / 86_400)d \(pad(Int64(total % 86_400 / 3600), 2))h \(pad(Int64(total % 3600 / 60), 2))m"
        } else if total >= 3600 {
            body = "\(total / 3600)h \(pad(Int64(total % 3600 / 60), 2))m \(pad(Int64(total % 60), 2))s"
        } else if total >= 60 {
            body = "\(total / 60)m \(pad(Int64(total % 60), 2))s"
        } else {
            let centis = m / 10_000
            body = "\(centis / 100).\(pad(Int64(centis % 100), 2))s"
        }
        return negative ? "-" + body : body
    }

    /// Bytes as `512 B`, `1.5 KiB`, `20.0 MiB`, `3.2 GiB`.
    static func bytes(_ n: Int64) -> String { HumanText.bytes(n) }

    /// `value` rounded to `digits` fraction digits, without locale.
    static func fixed(_ value: Double, digits: Int) -> String { HumanText.fixed(value, digits: digits) }

    /// `n` in decimal, zero-padded to `width` digits.
    static func pad<I: BinaryInteger>(_ n: I, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `text` padded with spaces to `width` display columns (left-aligned), or right-aligned.
    static func column(_ text: String, _ width: Int, right: Bool = false) -> String {
        let n = text.count
        guard n < width else { return text }
        let fill = String(repeating: " ", count: width - n)
        return right ? fill + text : text + fill
    }
}
