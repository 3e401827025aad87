// SPDX-License-Identifier: Apache-2.0
import RunLogFormat
import SeededRandom
import Testing

@Suite struct CanonicalJSONTests {
    /// Expected strings are what Python's repr() prints for the same doubles (spec §6).
    @Test(arguments: [
        (1e16, "1e+16"), (1e-5, "1e-05"), (0.1 + 0.2, "0.30000000000000004"), (123456789.123, "123456789.123"),
        (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (1e15, "1000000000000000.0"),
        (9999999999999998.0, "9999999999999998.0"), (-9007199254740992.0, "-9007199254740992.0"), (0.0001, "0.0001"),
        (100.0, "100.0"), (-0.0, "-0.0"), (1.5e-7, "1.5e-07"), (2.5e20, "2.5e+20"), (0.00012345, "0.00012345"),
        (12345678901234567.0, "1.2345678901234568e+16"), (1e22, "1e+22"), (3.0e-4, "0.0003"),
        (Double.nan, "\"NaN\""), (Double.infinity, "\"Infinity\""), (-Double.infinity, "\"-Infinity\""),
    ])
    func doublesAreWrittenAsPythonReprWritesThem(value: Double, expected: String) {
        var j = CanonicalJSON()
        j.double(value)
        #expect(String(decoding: j.output, as: UTF8.self) == expected)
    }

    /// The standard library's `description` prints the same shortest round-trip
    /// digits as repr, in exponent form from 2^53 where repr waits until 1e16.
    @Test func doublesHaveTheShortestDigitsThatReadBack() {
        var values: [Double] = []
        var random = SplitMix64(seed: 2026)
        for _ in 0..<200_000 {
            let d = Double(bitPattern: random.next())
            if d.isFinite { values.append(d) }
        }
        for e in -1074...1023 {
            let d = Double(sign: .plus, exponent: e, significand: 1)
            values += [d, d.nextDown, d.nextUp, -d]
        }
        for e in -323...308 {
            let d = Double("1e\(e)")!
            values += [d, d.nextDown, d.nextUp, 3 * d, 0.7 * d]
        }
        values += (0..<10_000).map { Double($0) } + (-1_000...1_000).map { 0x1p53 + 2 * Double($0) }
        var wrong: [String] = []
        for d in values where d.isFinite {
            var j = CanonicalJSON()
            j.double(d)
            let text = String(decoding: j.output, as: UTF8.self)
            let expected = Self.repr(d.description)
            if text != expected || Double(text) != d { wrong.append("\(d.bitPattern): \(text), not \(expected)") }
        }
        #expect(wrong.prefix(5) == [], "\(wrong.count) of \(values.count) doubles")
    }

    /// Metrics lines, written with raw stores for speed, against the same lines
    /// put together from the scalar writers: keys of every length the copy
    /// distinguishes (under 4, 8, 16 and 32 bytes, and longer), escapes, rows
    /// missing some keys, negative steps and times, and non-finite values.
    @Test func metricsLinesEqualTheLinesOfTheScalarWriters() {
        let keys = ["a", "lr", "loss", "val/acc", "grads/fc1.weight", "a\"quoted\"\tkey", String(repeating: "k", count: 40), "é/ünïcode"]
        var random = SplitMix64(seed: 11)
        var builder = MetricsBlock.Builder()
        var rows: [(Int64, Int64, [(String, Double)])] = []
        for i in 0..<300 {
            let step = Int64(i) - 5
            let time = Int64(1_764_171_652_123_456) * (i == 7 ? -1 : 1) + Int64(i)
            var values: [(String, Double)] = []
            for k in keys where i % 3 != 0 || random.next() % 2 == 0 {
                let special: [Double] = [.nan, .infinity, -.infinity, 0, -0.0, 1e300, 5e-324]
                let v = random.next() % 13 == 0 ? special[Int(random.next() % 7)] : random.gaussian() * 1e3
                values.append((k, v))
            }
            builder.append(step: step, time: time, values: values)
            rows.append((step, time, values))
        }
        // A line lists its values in the block's key order: first appearance in the block.
        let order = Dictionary(uniqueKeysWithValues: builder.keys.enumerated().map { ($1, $0) })
        var fast = CanonicalJSON()
        fast.appendRows(builder.build()!)
        var expected = CanonicalJSON()
        for (step, time, unordered) in rows {
            let values = unordered.sorted { order[$0.0]! < order[$1.0]! }
            expected.raw(#"{"kind":"metrics","step":"#); expected.int(step)
            expected.raw(#","time":"#); expected.time(time)
            expected.raw(#","values":{"#)
            for (j, (k, v)) in values.enumerated() {
                if j > 0 { expected.raw(",") }
                expected.string(k); expected.raw(":"); expected.double(v)
            }
            expected.raw("}}\n")
        }
        #expect(String(decoding: fast.output, as: UTF8.self) == String(decoding: expected.output, as: UTF8.self))
    }

    /// "9.999999999999998e+15" → "9999999999999998.0": repr's layout of `description`'s digits.
    static func repr(_ s: String) -> String {
        guard let e = s.firstIndex(of: "e"), let exponent = Int(s[s.index(after: e)...]), exponent < 16 else { return s }
        var mantissa = s[..<e]
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa = mantissa.dropFirst() }
        var digits = String(mantissa.filter { $0 != "." })
        guard exponent >= 0, digits.count <= exponent + 1 else { return s }
        digits += String(repeating: "0", count: exponent + 1 - digits.count)
        return (negative ? "-" : "") + digits + ".0"
    }

    @Test(arguments: [(Int64(1_764_171_652_123_456), "1764171652.123456"), (0, "0.000000"), (-1, "-0.000001"), (1_000_000, "1.000000")])
    func timesHaveSixFractionDigits(micros: Int64, expected: String) {
        var j = CanonicalJSON()
        j.time(micros)
        #expect(String(decoding: j.output, as: UTF8.self) == expected)
    }

    @Test func stringsEscapeQuotesBackslashesAndControlCharacters() {
        var j = CanonicalJSON()
        j.string("a\"b\\c\n\t\u{1}\u{7f}é")
        #expect(String(decoding: j.output, as: UTF8.self) == "\"a\\\"b\\\\c\\n\\t\\u0001\u{7f}é\"")
    }
}
