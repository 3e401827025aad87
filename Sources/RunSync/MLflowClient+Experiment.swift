// SPDX-License-Identifier: Apache-2.0
extension MLflowClient {
    /// The tags of experiment `id`.
    public func experimentTags(_ id: String) throws(SyncError) -> [String: String] {
        let r = try call("GET", "experiments/get?experiment_id=" + Self.query(id), nil)
        var out: [String: String] = [:]
        for t in (r["experiment"] as? [String: Any])?["tags"] as? [[String: Any]] ?? [] {
            if let k = t["key"] as? String { out[k] = t["value"] as? String ?? "" }
        }
        return out
    }
}
