// SPDX-License-Identifier: Apache-2.0
import TOMLKit

/// syncd's config file and credentials file: TOML 1.0 (parsed by TOMLKit),
/// whose top-level `key = value` pairs are the settings. Everything TOML
/// allows is read (basic and literal strings, multi-line strings and
/// arrays, comments, integers with `_`, floats); a value of a type a
/// setting does not take is an error naming its line.
enum ConfigFile {
    /// A value as the settings see it.
    enum Value: Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case strings([String])
        /// Anything else TOML allows (a table, a date, an array of numbers, …), by its description.
        case other(String)
    }

    /// The top-level settings of `text` with the line each is on; a file
    /// that is not TOML is a one-line error naming `file` and the line.
    static func parse(_ text: String, file: String) throws(SyncError) -> [String: (Value, Int)] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            let reason = e.description.split(whereSeparator: \.isNewline).joined(separator: " ")
            throw SyncError(.config, "\(file):\(e.source.begin.line): not valid TOML: \(reason)")
        } catch {
            throw SyncError(.config, "\(file): not valid TOML: \(error)")
        }
        let lines = keyLines(text)
        var out: [String: (Value, Int)] = [:]
        for key in table.keys {
            guard let v = table[key] else { continue }
            out[key] = (value(v), lines[key] ?? 1)
        }
        return out
    }

    static func value(_ v: any TOMLValueConvertible) -> Value {
        switch v.type {
        case .string: return v.string.map(Value.string) ?? .other("string")
        case .bool: return v.bool.map(Value.bool) ?? .other("boolean")
        case .int: return v.int.map { .number(Double($0)) } ?? .other("integer")
        case .double: return v.double.map(Value.number) ?? .other("float")
        case .array:
            guard let array = v.array else { return .other("array") }
            var strings: [String] = []
            for item in array {
                guard item.type == .string, let s = item.string else { return .other("array holding a \(item.type)") }
                strings.append(s)
            }
            return .strings(strings)
        default: return .other("\(v.type)")
        }
    }

    /// The line of each top-level key: where a line starts with the key (bare,
    /// or quoted) and `=`, outside multi-line strings; the first such line
    /// before any table header.
    static func keyLines(_ text: String) -> [String: Int] {
        var out: [String: Int] = [:]
        var inMultiline: String?
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if let delimiter = inMultiline {
                if line.components(separatedBy: delimiter).count % 2 == 0 { inMultiline = nil }
                continue
            }
            if line.hasPrefix("[") { break }  // a table: no more top-level keys
            guard let eq = line.firstIndex(of: "=") else { continue }
            var key = line[..<eq].trimmingCharacters(in: .whitespaces)
            if key.count >= 2, let q = key.first, q == "\"" || q == "'", key.last == q { key = String(key.dropFirst().dropLast()) }
            if out[key] == nil { out[key] = i + 1 }
            let rest = String(line[line.index(after: eq)...])
            for delimiter in ["\"\"\"", "'''"] where rest.components(separatedBy: delimiter).count == 2 {
                inMultiline = delimiter
            }
        }
        return out
    }
}
