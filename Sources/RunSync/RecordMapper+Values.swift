// SPDX-License-Identifier: Apache-2.0
import RunLayout

/// Values longer than MLflow keeps. MLflow counts lengths in code points
/// (its server is Python) and cuts a param value over 6,000 and a tag value
/// over 8,000 without a word; syncd never lets it: the whole value goes to an
/// artifact named by its content (so no later value ever overwrites one that
/// a param or tag points to), and the param or tag holds the first 5,000
/// code points and a note naming that artifact.
extension RecordMapper {
    /// MLflow's `MAX_PARAM_VAL_LENGTH`, in code points.
    static let maxParamLength = 6000
    /// MLflow's `MAX_TAG_VAL_LENGTH`, in code points.
    static let maxTagLength = 8000
    /// Code points a shortened value keeps before its note.
    static let keptLength = 5000

    /// Where the whole of a too-long value of `key` goes: `<kind>/<key>/<first 16 hex digits of its SHA-256>.txt`.
    static func overflowPath(_ kind: String, key: String, value: String) -> ArtifactPath {
        let digest = Hex.string(SHA256Hasher.hash(Array(value.utf8)))
        return ArtifactPath([kind, key, digest.prefix(16) + ".txt"])
    }

    /// The first `keptLength` code points of `value` and a note naming the artifact holding all of it.
    static func noted(_ value: String, artifact: ArtifactPath) -> String {
        let kept = String(String.UnicodeScalarView(value.unicodeScalars.prefix(keptLength)))
        return kept + "… [\(value.unicodeScalars.count) characters; the whole value is the artifact \(artifact)]"
    }

    /// The items of a param: the upload of its whole value first when MLflow would cut it.
    static func paramItems(_ key: String, _ value: String, changedTag: String) -> [Item] {
        guard value.unicodeScalars.count > maxParamLength else {
            return [.param(key, value, changed: (changedTag, value))]
        }
        let path = overflowPath("params", key: key, value: value)
        let shown = noted(value, artifact: path)
        return [.op(.putArtifact(path, Array(value.utf8))), .param(key, shown, changed: (changedTag, shown))]
    }

    /// The items of a tag: the upload of its whole value first when MLflow would cut it.
    static func tagItems(_ key: String, _ value: String) -> [Item] {
        guard value.unicodeScalars.count > maxTagLength else { return [.tag(key, value)] }
        let path = overflowPath("tags", key: key, value: value)
        return [.op(.putArtifact(path, Array(value.utf8))), .tag(key, noted(value, artifact: path))]
    }

    /// A message short enough for a tag value, with a note when it was cut.
    static func clip(_ v: String) -> String {
        let n = v.unicodeScalars.count
        guard n > maxTagLength else { return v }
        return String(String.UnicodeScalarView(v.unicodeScalars.prefix(keptLength))) + "… [\(n) characters, clipped]"
    }
}
