// SPDX-License-Identifier: Apache-2.0
/// Builds a JSON document into bytes, with the few value kinds MLflow's
/// REST API needs: strings, 64-bit integers, and doubles (non-finite ones as
/// the strings "NaN", "Infinity", "-Infinity", which MLflow parses back).
/// A string's U+0000 goes as U+FFFD (`MLflowNames.text`): MLflow on
/// PostgreSQL refuses a request that carries one.
struct JSONText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ s: String) {
        CanonicalJSON.appendString(MLflowNames.text(s), to: &bytes)
    }

    mutating func int(_ n: Int64) { bytes.append(contentsOf: String(n).utf8) }

    mutating func double(_ d: Double) { CanonicalJSON.appendDouble(d, to: &bytes) }

    /// `"key":` with a leading comma unless `first`.
    mutating func key(_ k: StaticString, first: Bool = false) {
        if !first { bytes.append(0x2C) }
        bytes.append(0x22)
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [0x22, 0x3A])
    }

    /// `[{"key":k,"value":v},…]` for params and tags.
    mutating func keyValues(_ items: [(String, String)]) {
        raw("[")
        for (i, item) in items.enumerated() {
            if i > 0 { raw(",") }
            raw("{\"key\":")
            string(item.0)
            raw(",\"value\":")
            string(item.1)
            raw("}")
        }
        raw("]")
    }
}
