// SPDX-License-Identifier: Apache-2.0

/// Numbers as `runlog` and `syncd` print them for people, and read them
/// from people: the same in every locale (no `String(format:)`, no
/// grouping, `.` as the decimal point).
public enum HumanText {
    /// A duration as people type it: `90s`, `45m`, `12h`, `7d`, or a bare
    /// number of seconds (`30`, `1.5h`); nil for anything else (a sign, an
    /// exponent, another unit, `inf`, a value too large for a `Double`).
    public static func seconds(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var number = Substring(text)
        var unit = 1.0
        if let last = number.last, let u = units[last] {
            unit = u
            number = number.dropLast()
        }
        guard number.contains(where: \.isWholeNumber), number.allSatisfy({ $0.isASCII && ($0.isWholeNumber || $0 == ".") }),
              let n = Double(number), (n * unit).isFinite else { return nil }
        return n * unit
    }

    /// The shortest decimal that reads back as `d`; NaN and the infinities as
    /// `nan`, `inf` and `-inf`.
    public static func double(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return d.description
    }

    /// `value` rounded to `digits` fraction digits (`fixed(2.25, digits: 1)` is `2.3`).
    public static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return double(value) }
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value.magnitude * Double(scale)).rounded()
        guard scaled < 9e18 else { return double(value) }
        let n = Int64(scaled)
        let sign = value < 0 && n != 0 ? "-" : ""
        if digits == 0 { return sign + String(n) }
        let fraction = String(n % scale)
        return sign + String(n / scale) + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    /// Bytes as `512 B`, `1.5 KiB`, `20.0 MiB`, `3.2 GiB`.
    public static func bytes(_ n: Int64) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(n) / 1024
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return fixed(value, digits: 1) + " " + units[unit]
    }
}
