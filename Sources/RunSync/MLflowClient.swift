// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging

/// A client of the MLflow tracking server's REST API 2.0, one request per
/// call. Retryable failures (unreachable, timeouts, resets, 5xx, 429, 408)
/// are retried without limit with `Backoff`, until success, a final answer,
/// or `Pause.stop()`; anything else throws a `SyncError` saying why.
///
/// Not thread-safe: one client per worker (it owns one kept-alive connection).
public final class MLflowClient: @unchecked Sendable {
    /// A metric point as MLflow stores it.
    public struct Metric: Sendable, Hashable {
        public var key: String
        public var value: Double
        /// Milliseconds since the epoch.
        public var timestamp: Int64
        public var step: Int64
        public init(key: String, value: Double, timestamp: Int64, step: Int64) {
            self.key = key
            self.value = value
            self.timestamp = timestamp
            self.step = step
        }
        public static func == (a: Metric, b: Metric) -> Bool {
            a.key == b.key && a.timestamp == b.timestamp && a.step == b.step
                && (a.value == b.value || (a.value.isNaN && b.value.isNaN))
        }
        public func hash(into h: inout Hasher) {
            h.combine(key)
            h.combine(timestamp)
            h.combine(step)
            h.combine(value.isNaN ? Double.nan.bitPattern : value == 0 ? 0 : value.bitPattern)  // -0.0 == 0.0
        }
    }

    /// What `runs/get` says of a run.
    public struct RunData: Sendable {
        public var runID: String
        public var experimentID: String
        public var status: String
        public var name: String
        public var startTime: Int64?
        public var endTime: Int64?
        public var lifecycle: String
        public var params: [String: String]
        public var tags: [String: String]
        /// The latest value of each metric.
        public var metrics: [String: Double]
    }

    public let baseURL: String
    /// `baseURL` without credentials: for logs, the sync state and links to runs.
    public let serverURL: String
    let http: HTTPClient
    let pause: Pause
    let logger: Logger
    /// Shared by the clients of one engine: outages logged once, `--once` bounded.
    let connection: ConnectionMonitor?
    /// Called before each wait between retries, for the run being synced to note the error.
    var onRetry: ((SyncError) -> Void)?

    public init(baseURL: String, options: HTTPClient.Options = .init(), pause: Pause = Pause(), logger: Logger = Logger(label: "syncd"),
                connection: ConnectionMonitor? = nil) {
        self.connection = connection
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.serverURL = URLUserInfo.redacted(base)
        self.http = HTTPClient(options: options)
        self.pause = pause
        self.logger = logger
        pause.register(http)
    }

    // MARK: - Experiments and runs

    /// The id of the experiment named `name`, created when there is none.
    /// An experiment of that name that is deleted (in MLflow's trash) is
    /// refused: syncd neither undoes the deletion nor can it create another
    /// of the same name until the deleted one is purged.
    /// A created experiment has the tag `mlflow.experimentKind` =
    /// `custom_model_development`, which makes MLflow 3's UI show it as model
    /// training (without it, runs are filed under GenAI "Evaluation runs").
    public func experimentID(named name: String) throws(SyncError) -> String {
        if let id = try experimentByName(name) { return id }
        var j = JSONText()
        j.raw("{"); j.key("name", first: true); j.string(name)
        j.raw(#","tags":[{"key":"mlflow.experimentKind","value":"custom_model_development"}]}"#)
        do throws(SyncError) {
            let r = try call("POST", "experiments/create", j.bytes)
            if let id = r["experiment_id"] as? String { return id }
            throw SyncError(.refused, "experiments/create \(name): no experiment_id in the answer")
        } catch where error.mlflowCode == .resourceAlreadyExists {
            // Another client created it meanwhile.
            if let id = try experimentByName(name) { return id }
            throw error
        }
    }

    func experimentByName(_ name: String) throws(SyncError) -> String? {
        let q = "experiments/get-by-name?experiment_name=" + Self.query(name)
        let r = try call("GET", q, nil, missingIsNil: true)
        let experiment = r["experiment"] as? [String: Any]
        guard let id = experiment?["experiment_id"] as? String else { return nil }
        if experiment?["lifecycle_stage"] as? String == "deleted" {
            throw SyncError(.refused, "experiment \"\(name)\" (id \(id)) is deleted in MLflow: restore it (mlflow experiments restore --experiment-id \(id)) to sync into it, or purge it (mlflow gc) for syncd to create it anew")
        }
        return id
    }

    /// The run of `experimentID` tagged `tag = value`, if any (the oldest when several).
    public func findRun(experimentID: String, tag: String, value: String) throws(SyncError) -> String? {
        try findRuns(experimentID: experimentID, tag: tag, value: value).first
    }

    /// The active runs of `experimentID` tagged `tag = value`, oldest first (at most 10).
    public func findRuns(experimentID: String, tag: String, value: String) throws(SyncError) -> [String] {
        let quoted = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        var j = JSONText()
        j.raw("{"); j.key("experiment_ids", first: true); j.raw("["); j.string(experimentID); j.raw("]")
        j.key("filter"); j.string("tags.`\(tag)` = '\(quoted)'")
        j.key("run_view_type"); j.string("ACTIVE_ONLY")
        j.key("max_results"); j.int(10)
        j.key("order_by"); j.raw("[\"attributes.start_time ASC\"]")
        j.raw("}")
        let r = try call("POST", "runs/search", j.bytes)
        let runs = r["runs"] as? [[String: Any]] ?? []
        return runs.compactMap { ($0["info"] as? [String: Any])?["run_id"] as? String }
    }

    /// Creates a run; returns its id. Not idempotent, so not retried: a
    /// retryable failure is thrown (the run may exist all the same); look
    /// for it with `findRun` before trying again. `findOrCreateRun` does that.
    public func createRun(experimentID: String, name: String, startTime: Int64, tags: [(String, String)]) throws(SyncError) -> String {
        var j = JSONText()
        j.raw("{"); j.key("experiment_id", first: true); j.string(experimentID)
        if !name.isEmpty { j.key("run_name"); j.string(name) }
        j.key("start_time"); j.int(startTime)
        j.key("tags"); j.keyValues(tags)
        j.raw("}")
        let r = try call("POST", "runs/create", j.bytes, once: true)
        guard let id = ((r["run"] as? [String: Any])?["info"] as? [String: Any])?["run_id"] as? String else {
            throw SyncError(.refused, "runs/create: no run id in the answer")
        }
        return id
    }

    /// The run tagged `tag = value` in `experimentID`, created when there is
    /// none: no run is ever created twice, even when an answer to a create is lost.
    public func findOrCreateRun(experimentID: String, tag: String, value: String, create: () throws(SyncError) -> String) throws(SyncError) -> (id: String, created: Bool) {
        var backoff = Backoff()
        while true {
            if let found = try findRun(experimentID: experimentID, tag: tag, value: value) { return (found, false) }
            do {
                return (try create(), true)
            } catch where error.isRetryable {
                let wait = backoff.next(retryAfter: error.retryAfter)
                logger.warning("\(error.message); looking for the run again in \(HumanText.fixed(wait, digits: 1)) s")
                try pause.sleep(wait)
            }
        }
    }

    public func getRun(_ runID: String) throws(SyncError) -> RunData {
        let r = try call("GET", "runs/get?run_id=" + Self.query(runID), nil)
        let run = r["run"] as? [String: Any] ?? [:]
        let info = run["info"] as? [String: Any] ?? [:]
        let data = run["data"] as? [String: Any] ?? [:]
        func pairs(_ name: String) -> [String: String] {
            var out: [String: String] = [:]
            for p in data[name] as? [[String: Any]] ?? [] {
                if let k = p["key"] as? String { out[k] = p["value"] as? String ?? "" }
            }
            return out
        }
        var metrics: [String: Double] = [:]
        for m in data["metrics"] as? [[String: Any]] ?? [] {
            if let k = m["key"] as? String { metrics[k] = Self.double(m["value"]) }
        }
        return RunData(
            runID: runID, experimentID: info["experiment_id"] as? String ?? "",
            status: info["status"] as? String ?? "", name: info["run_name"] as? String ?? "",
            startTime: Self.int(info["start_time"]), endTime: Self.int(info["end_time"]),
            lifecycle: info["lifecycle_stage"] as? String ?? "",
            params: pairs("params"), tags: pairs("tags"), metrics: metrics)
    }

    /// One `runs/log-batch` (the caller keeps within MLflow's limits).
    public func logBatch(runID: String, metrics: [Metric], params: [(String, String)] = [], tags: [(String, String)] = []) throws(SyncError) {
        var j = JSONText(capacity: 64 + metrics.count * 64)
        j.raw("{"); j.key("run_id", first: true); j.string(runID)
        j.key("metrics"); j.raw("[")
        for (i, m) in metrics.enumerated() {
            j.raw(i == 0 ? "{\"key\":" : ",{\"key\":"); j.string(m.key)
            j.raw(",\"value\":"); j.double(m.value)
            j.raw(",\"timestamp\":"); j.int(m.timestamp)
            j.raw(",\"step\":"); j.int(m.step)
            j.raw("}")
        }
        j.raw("]")
        j.key("params"); j.keyValues(params)
        j.key("tags"); j.keyValues(tags)
        j.raw("}")
        _ = try call("POST", "runs/log-batch", j.bytes)
    }

    /// Sets a run's status ("RUNNING", "FINISHED", "FAILED", "KILLED") and end time (ms).
    public func updateRun(_ runID: String, status: String, endTime: Int64?) throws(SyncError) {
        var j = JSONText()
        j.raw("{"); j.key("run_id", first: true); j.string(runID)
        j.key("status"); j.string(status)
        if let endTime { j.key("end_time"); j.int(endTime) }
        j.raw("}")
        _ = try call("POST", "runs/update", j.bytes)
    }

    /// Marks a run deleted (MLflow then refuses data for it).
    public func deleteRun(_ runID: String) throws(SyncError) {
        var j = JSONText()
        j.raw("{"); j.key("run_id", first: true); j.string(runID); j.raw("}")
        _ = try call("POST", "runs/delete", j.bytes)
    }

    public func deleteTag(_ runID: String, key: String) throws(SyncError) {
        var j = JSONText()
        j.raw("{"); j.key("run_id", first: true); j.string(runID); j.key("key"); j.string(key); j.raw("}")
        do throws(SyncError) { _ = try call("POST", "runs/delete-tag", j.bytes) } catch where error.mlflowCode == .resourceDoesNotExist {
            // Already gone: deleting is idempotent for us.
        }
    }

    /// All points of one metric, in the server's order. Decoded with
    /// `JSONDecoder`, which reads doubles exactly.
    public func metricHistory(runID: String, key: String) throws(SyncError) -> [Metric] {
        var out: [Metric] = []
        var token: String?
        repeat {
            var q = "\(baseURL)/api/2.0/mlflow/metrics/get-history?run_id=\(Self.query(runID))&metric_key=\(Self.query(key))&max_results=25000"
            if let token { q += "&page_token=" + Self.query(token) }
            var page: HistoryPage?
            try retrying("metrics/get-history") { () throws(SyncError) in
                let r = try http.send("GET", q)
                if r.status == 200 { page = try? JSONDecoder().decode(HistoryPage.self, from: Data(r.body)) }
                return r
            }
            guard let page else { throw SyncError(.unavailable, "metrics/get-history: unreadable answer") }
            out += (page.metrics ?? []).map { Metric(key: key, value: $0.value.value, timestamp: $0.timestamp.value, step: $0.step?.value ?? 0) }
            token = page.next_page_token
        } while token?.isEmpty == false
        return out
    }

    struct HistoryPage: Decodable {
        struct Point: Decodable {
            var value: Flexible<Double>
            var timestamp: Flexible<Int64>
            var step: Flexible<Int64>?
        }
        var metrics: [Point]?
        var next_page_token: String?
    }

    /// A number that protobuf's JSON may also write as a string ("NaN", or an int64 as text).
    struct Flexible<T: Decodable & LosslessStringConvertible>: Decodable {
        var value: T
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(T.self) {
                value = v
            } else {
                let s = try c.decode(String.self)
                if T.self == Double.self {
                    value = MLflowClient.double(s) as! T
                } else if let v = T(s) {
                    value = v
                } else {
                    throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a number: \(s)")
                }
            }
        }
    }

    // MARK: - Artifacts

    /// The proxied-artifact URL of `path` in a run's artifact directory.
    /// `path` must come from `ArtifactPath`, which keeps it inside that directory.
    func artifactURL(experimentID: String, runID: String, path: ArtifactPath) -> String {
        "\(baseURL)/api/2.0/mlflow-artifacts/artifacts/\(Self.segment(experimentID))/\(Self.segment(runID))/artifacts/\(path.urlEncoded)"
    }

    public func putArtifact(experimentID: String, runID: String, path: ArtifactPath, bytes: [UInt8]) throws(SyncError) {
        let url = artifactURL(experimentID: experimentID, runID: runID, path: path)
        try retrying("PUT artifact \(path)") { () throws(SyncError) in try http.send("PUT", url, json: bytes) }
    }

    /// Streams a file, aborting when its bytes do not hash to `sha256`.
    public func uploadArtifact(experimentID: String, runID: String, path: ArtifactPath, file: String, size: UInt64, sha256: [UInt8]) throws(SyncError) {
        let url = artifactURL(experimentID: experimentID, runID: runID, path: path)
        try retrying("PUT artifact \(path)") { () throws(SyncError) in try http.upload(url, file: file, size: size, sha256: sha256) }
    }

    /// Downloads an artifact (nil when there is none).
    public func getArtifact(experimentID: String, runID: String, path: ArtifactPath) throws(SyncError) -> [UInt8]? {
        let url = artifactURL(experimentID: experimentID, runID: runID, path: path)
        var result: [UInt8]?
        try retrying("GET artifact \(path)", missingIsNil: true) { () throws(SyncError) in
            let r = try http.send("GET", url)
            result = r.status == 200 ? r.body : nil
            return r
        }
        return result
    }

    /// Files under `dir` of a run's artifacts: (path relative to `dir`'s parent listing, is directory, size).
    public func listArtifacts(experimentID: String, runID: String, dir: String = "") throws(SyncError) -> [(path: String, isDir: Bool, size: Int64)] {
        var p = "\(experimentID)/\(runID)/artifacts"
        if !dir.isEmpty { p += "/" + dir }
        var out: [(String, Bool, Int64)] = []
        let url = "\(baseURL)/api/2.0/mlflow-artifacts/artifacts?path=\(Self.query(p))"
        var json: [String: Any] = [:]
        try retrying("list artifacts") { () throws(SyncError) in
            let r = try http.send("GET", url)
            if r.status == 200 { json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:] }
            return r
        }
        for f in json["files"] as? [[String: Any]] ?? [] {
            out.append((f["path"] as? String ?? "", f["is_dir"] as? Bool ?? false, Self.int(f["file_size"]) ?? 0))
        }
        return out
    }
}
