// SPDX-License-Identifier: Apache-2.0
import RunLayout

/// Turns names from a log into names MLflow accepts, deterministically.
///
/// The rules are those of MLflow's own validators (`mlflow/utils/validation.py`:
/// `validate_param_and_metric_name`, `path_not_unique`, `_validate_length_limit`,
/// `_validate_experiment_name`; the experiments table's `String(256)`), with
/// lengths counted as the server's Python counts them: in Unicode code points.
/// A metric, param or tag key is accepted when
/// - every character matches Python's `\w` (Unicode letters, digits and
///   numbers, `_`) or is one of `- . space / :`;
/// - `posixpath.normpath` leaves it unchanged (no empty, `.` or `..`
///   component, no leading or trailing `/`) and it does not start with `..`;
/// - it has at most 250 code points.
///
/// The mapping of a key MLflow would refuse:
/// 1. every other character (e.g. `# @ + , = ' " \ ( ) [ ] %`, tab, emoji,
///    combining marks) becomes `_`, and so does every letter or number
///    assigned after Unicode 13.0 (Python 3.10's, the oldest MLflow 3 runs on):
///    a server's Python does not know it as a letter;
/// 2. empty `/`-separated components are dropped (`a//b` → `a/b`, and
///    leading and trailing `/` go), a component `.` or `..` becomes `_` or
///    `__`, and a leading `..` becomes `__` (`..loss` → `__loss`); a key left
///    empty is `_`;
/// 3. a key still longer than 250 code points keeps its first 241, followed
///    by `_` and the first 8 hex digits of the SHA-256 of the original key.
///
/// Keys that MLflow accepts are unchanged, and a mapped key maps to itself.
/// Two keys that differ only in refused characters map to the same MLflow
/// key (`acc[1]` and `acc(1)` both become `acc_1_`).
public enum MLflowNames {
    /// Code points in a metric, param or tag key.
    public static let maxKeyLength = 250
    /// Code points in an experiment name: the validator allows 500, the
    /// experiments table holds 256.
    public static let maxExperimentNameLength = 256
    /// The newest Unicode version whose letters every supported server knows.
    static let unicodeVersion = (major: 13, minor: 0)

    public static func key(_ raw: String) -> String {
        if isAcceptable(raw) { return raw }
        var mapped = String(String.UnicodeScalarView(raw.unicodeScalars.map { isAllowed($0) ? $0 : "_" }))
        let parts = mapped.split(separator: "/", omittingEmptySubsequences: true).map { part -> Substring in
            part == "." ? "_" : part == ".." ? "__" : part
        }
        mapped = parts.joined(separator: "/")
        if mapped.hasPrefix("..") { mapped = "__" + mapped.dropFirst(2) }
        if mapped.isEmpty { mapped = "_" }
        return shortened(mapped, original: raw, limit: maxKeyLength)
    }

    /// Whether MLflow takes `key` as it is.
    public static func isAcceptable(_ key: String) -> Bool {
        guard !key.isEmpty, key.unicodeScalars.count <= maxKeyLength, key.unicodeScalars.allSatisfy(isAllowed),
              !key.hasPrefix("..") else { return false }
        return !key.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// The experiment name of a project: "Default" for none, and a name
    /// longer than 256 code points cut like a long key (247, `_`, 8 hex digits).
    public static func experimentName(_ project: String) -> String {
        project.isEmpty ? "Default" : shortened(text(project), original: project, limit: maxExperimentNameLength)
    }

    /// A name or value as MLflow can store it: U+0000 becomes U+FFFD (the
    /// replacement character), the same length in code points. PostgreSQL's
    /// text columns cannot hold U+0000, so MLflow on it answers 400 to any
    /// request that carries one (SQLite's would keep it); every string syncd
    /// sends to MLflow goes through this.
    public static func text(_ s: String) -> String {
        guard s.utf8.contains(0) else { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }))
    }

    /// A run's name as MLflow's runs table holds it (`String(250)`): one
    /// longer than 250 code points is cut like a long key.
    public static func runName(_ name: String) -> String {
        shortened(name, original: name, limit: maxKeyLength)
    }

    /// `s` when it has at most `limit` code points, else its first
    /// `limit - 9`, `_` and 8 hex digits of the SHA-256 of `original`.
    static func shortened(_ s: String, original: String, limit: Int) -> String {
        guard s.unicodeScalars.count > limit else { return s }
        let digest = Hex.string(SHA256Hasher.hash(Array(original.utf8)))
        return String(String.UnicodeScalarView(s.unicodeScalars.prefix(limit - 9))) + "_" + digest.prefix(8)
    }

    /// Python's `\w` (Unicode letters, digits and numbers, `_`) plus `- . space / :`,
    /// letters and numbers only when assigned by Unicode 13.0.
    static func isAllowed(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "_", "-", ".", " ", "/", ":": return true
        default:
            if s.isASCII { return s.properties.isAlphabetic || ("0"..."9").contains(s) }
            switch s.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                .decimalNumber, .letterNumber, .otherNumber:
                guard let age = s.properties.age else { return false }
                return (age.major, age.minor) <= unicodeVersion
            default: return false
            }
        }
    }
}

/// A path inside a run's artifact directory, built so that no name taken
/// from a log can leave it: components are restricted to
/// `[A-Za-z0-9._-]` (others become `_`), and an empty, `.` or `..`
/// component becomes `_`, `_.` or `_..`. A component longer than 200
/// characters (a file name the artifact store's file system would refuse
/// past 255 bytes) keeps its first 191, then `_` and 8 hex digits of the
/// SHA-256 of the component as it was.
public struct ArtifactPath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    public init(_ parts: [String]) {
        components = parts.flatMap { $0.split(separator: "/", omittingEmptySubsequences: false) }.map(Self.safe)
    }

    public init(_ path: String) { self.init([path]) }

    /// Characters in one component of the path.
    static let maxComponentLength = 200

    public var description: String { components.joined(separator: "/") }

    /// The path for a URL: every component is already URL-safe.
    var urlEncoded: String { description }

    static func safe(_ part: Substring) -> String {
        var s = SafeName.characters(part)
        if s.isEmpty || s.allSatisfy({ $0 == "." }) { s = "_" + s }
        return MLflowNames.shortened(s, original: String(part), limit: maxComponentLength)
    }
}
