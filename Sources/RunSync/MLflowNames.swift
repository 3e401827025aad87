// SPDX-License-Identifier: Apache-2.0
import RunLayout

/// Turns names from a log into names MLflow accepts, deterministically.
///
/// MLflow accepts metric, param and tag keys of at most 250 characters made
/// of letters and digits (any script), `_ - . space / :`, and refuses
/// leading or trailing `/`, `//`, and `.`/`..` path components. The mapping:
///
/// 1. every other character (e.g. `# @ + , = ' " \ ( ) [ ] %`, tab, emoji)
///    becomes `_`;
/// 2. empty `/`-separated components are dropped (`a//b` → `a/b`, and
///    leading and trailing `/` go), and a component `.` or `..` becomes `_`
///    or `__`; a key left empty is `_`;
/// 3. a key still longer than 250 characters keeps its first 241
///    characters, followed by `_` and the first 8 hex digits of the SHA-256
///    of the original key (250 in all).
///
/// Keys that MLflow accepts are unchanged. Two keys that differ only in
/// refused characters map to the same MLflow key (`acc[1]` and `acc(1)` both
/// become `acc_1_`); syncd logs a warning the first time it maps a key.
public enum MLflowNames {
    public static let maxKeyLength = 250

    public static func key(_ raw: String) -> String {
        if isAcceptable(raw) { return raw }
        var mapped = String(String.UnicodeScalarView(raw.unicodeScalars.map { isAllowed($0) ? $0 : "_" }))
        let parts = mapped.split(separator: "/", omittingEmptySubsequences: true).map { part -> Substring in
            part == "." ? "_" : part == ".." ? "__" : part
        }
        mapped = parts.joined(separator: "/")
        if mapped.isEmpty { mapped = "_" }
        if mapped.count > maxKeyLength {
            let digest = Hex.string(SHA256Hasher.hash(Array(raw.utf8)))
            mapped = String(mapped.prefix(maxKeyLength - 9)) + "_" + digest.prefix(8)
        }
        return mapped
    }

    /// Whether MLflow takes `key` as it is.
    public static func isAcceptable(_ key: String) -> Bool {
        guard !key.isEmpty, key.count <= maxKeyLength, key.unicodeScalars.allSatisfy(isAllowed) else { return false }
        return !key.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// Python's `\w` (Unicode letters, digits and numbers, `_`) plus `- . space / :`.
    static func isAllowed(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "_", "-", ".", " ", "/", ":": return true
        default:
            switch s.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .decimalNumber, .letterNumber, .otherNumber:
                return true
            default: return false
            }
        }
    }
}

/// A path inside a run's artifact directory, built so that no name taken
/// from a log can leave it: components are restricted to
/// `[A-Za-z0-9._-]` (others become `_`), and an empty, `.` or `..`
/// component becomes `_`, `_.` or `_..`.
public struct ArtifactPath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    public init(_ parts: [String]) {
        components = parts.flatMap { $0.split(separator: "/", omittingEmptySubsequences: false) }.map(Self.safe)
    }

    public init(_ path: String) { self.init([path]) }

    public var description: String { components.joined(separator: "/") }

    /// The path for a URL: every component is already URL-safe.
    var urlEncoded: String { description }

    static func safe(_ part: Substring) -> String {
        var s = String(String.UnicodeScalarView(part.unicodeScalars.map { c in
            (c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "." || c == "_" || c == "-")) ? c : "_"
        }))
        if s.isEmpty || s.allSatisfy({ $0 == "." }) { s = "_" + s }
        return s
    }
}
