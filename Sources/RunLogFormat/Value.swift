// SPDX-License-Identifier: Apache-2.0
/// A free value in config, summary and checkpoint metadata (spec §4.0).
public enum Value: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case list([Value])
    case map([Entry])

    /// Bit-exact equality for doubles (so NaN equals NaN), structural otherwise.
    public static func == (a: Value, b: Value) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x.bitPattern == y.bitPattern || x == y
        case let (.string(x), .string(y)): return x == y
        case let (.list(x), .list(y)): return x == y
        case let (.map(x), .map(y)): return x == y
        default: return false
        }
    }

    /// The most levels a value may nest (see `depth`); deeper is malformed.
    public static let maxDepth = 64
}

/// A key and its value, in a map, config, summary or metadata.
public struct Entry: Sendable, Equatable {
    public var key: String
    public var value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        self.value = value
    }
}

extension Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: Value...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) {
        self = .map(elements.map { Entry($0.0, $0.1) })
    }
}

extension Value {
    /// The entries of a map value, or nil.
    public var entries: [Entry]? { if case .map(let e) = self { return e } else { return nil } }

    /// Applies `updates` to `state` by the merge rule of spec §4.0: maps
    /// merge recursively, anything else replaces; order of first appearance is kept.
    public static func merge(_ updates: [Entry], into state: inout [Entry]) {
        for update in updates {
            if let i = state.firstIndex(where: { $0.key == update.key }) {
                if case .map(var old) = state[i].value, case .map(let new) = update.value {
                    merge(new, into: &old)
                    state[i].value = .map(old)
                } else {
                    state[i].value = update.value
                }
            } else {
                state.append(update)
            }
        }
    }

    /// `[("a.b", value), …]`: nested non-empty maps flattened, their keys joined with `.`,
    /// each key with its last value at its first position.
    public static func flattened(_ entries: [Entry], prefix: String = "") -> [(key: String, value: Value)] {
        var out: [(key: String, value: Value)] = []
        for e in collapsed(entries) {
            let key = prefix.isEmpty ? e.key : prefix + "." + e.key
            if case .map(let inner) = e.value, !inner.isEmpty {
                out += flattened(inner, prefix: key)
            } else {
                out.append((key, e.value))
            }
        }
        return out
    }

    /// `entries` with each key keeping its last value at its first position.
    public static func collapsed(_ entries: [Entry]) -> [Entry] {
        var out: [Entry] = []
        var index: [String: Int] = [:]
        for e in entries {
            if let i = index[e.key] {
                out[i].value = e.value
            } else {
                index[e.key] = out.count
                out.append(e)
            }
        }
        return out
    }
}
