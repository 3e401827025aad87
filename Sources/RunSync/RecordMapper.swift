// SPDX-License-Identifier: Apache-2.0
import RunLayout

/// What one record of a log becomes in MLflow: a deterministic list of
/// items, so that a cursor can point into it (`RunState.Cursor.item`).
///
/// The mapping (also in README, "Quick start: `syncd`"):
/// - run start (rank 0) → tags `runlog.attempt`, `runlog.host`, `runlog.group`,
///   `runlog.job_id`, `runlog.world_size`, its tags and notes; an attempt
///   after the first sets the MLflow run back to RUNNING;
/// - config → params, nested keys flattened with `.`; strings as they are,
///   other values as canonical JSON. A param keeps its first value (MLflow
///   refuses changes): a later, different value goes to the tag
///   `runlog.config.<key>` (tags keep the latest). A value over 6,000 code
///   points (a tag value over 8,000) is uploaded whole as the artifact
///   `params/<key>/<hash>.txt` (`tags/<key>/<hash>.txt`), named by its
///   content, and the param (tag) holds its first 5,000 code points and a
///   note naming it (`RecordMapper+Values.swift`);
/// - metrics → metric points with the original step, and the time in ms
///   (µs / 1000, rounded down); ranks other than 0 prefix their keys with
///   `rank<N>/`;
/// - histogram → the artifact `histograms/<key>/<step>_<time µs>.json` holding
///   the record's canonical JSON line (spec §6), unless `histogramRecords`
///   is off; each key's picture,
///   `histograms/<key>/distribution.svg`, is `HistogramPictures`' work;
/// - checkpoint → its file uploaded to `<path>` (under `checkpoints/`), its
///   record's canonical JSON to `<path>.json`, and a tag
///   `runlog.checkpoint.<alias>` = `<path>` for each alias; a file its
///   writer retired before it was uploaded (a `checkpoint_removed` record
///   read later) is not uploaded, and not reported missing;
/// - checkpoint removed → nothing: MLflow keeps a file it already has;
/// - tags → tag `<tag>` = "true" (prefixed `tag.` when it starts with
///   `mlflow.` or `runlog.`); removed tags are deleted; notes →
///   `mlflow.note.content`;
/// - summary → tags `summary.<key>` (flattened like config), latest value wins;
/// - environment → MLflow's source tags and `runlog.env.*` (RecordMapper+Environment.swift);
/// - run end → remembered; once every log is read, the run's status decides
///   the MLflow status (see `RunSyncer`).
enum Item {
    case metric(MLflowClient.Metric)
    /// A param, or, when MLflow already has another value for its key, the tag `changed`.
    case param(String, String, changed: (String, String))
    case tag(String, String)
    case op(Op)

    enum Op {
        case setRunning(attempt: UInt64)
        case deleteTag(String)
        case putArtifact(ArtifactPath, [UInt8])
        case uploadFile(ArtifactPath, source: String, size: UInt64, sha256: [UInt8])
        case runEnd(key: String, RunState.End)
    }
}

struct RecordMapper {
    let runPath: String
    let attempt: UInt64
    let rank: UInt64
    /// Whether a histogram record is uploaded whole (`SyncSettings.histogramRecords`).
    var histogramRecords = true

    /// The items of `record`; the same record always gives the same list.
    func items(_ record: Record) -> [Item] {
        switch record {
        case .runStart(let s):
            var out: [Item] = []
            if attempt > 1 { out.append(.op(.setRunning(attempt: attempt))) }
            guard rank == 0 else { return out }
            out.append(.tag("runlog.attempt", String(s.attempt)))
            if !s.host.isEmpty { out.append(.tag("runlog.host", s.host)) }
            if !s.group.isEmpty { out.append(.tag("runlog.group", s.group)) }
            if !s.jobID.isEmpty { out.append(.tag("runlog.job_id", s.jobID)) }
            if s.worldSize > 0 { out.append(.tag("runlog.world_size", String(s.worldSize))) }
            if !s.argv.isEmpty { out += Self.tagItems("runlog.argv", s.argv.joined(separator: " ")) }
            out += s.tags.map { .tag(Self.tagKey($0), "true") }
            if !s.notes.isEmpty { out += Self.tagItems("mlflow.note.content", s.notes) }
            return out
        case .config(let entries):
            return Self.flatten(entries).flatMap { key, value in
                Self.paramItems(MLflowNames.key(key), value, changedTag: MLflowNames.key("runlog.config." + key))
            }
        case .metrics(let block):
            var out: [Item] = []
            out.reserveCapacity(block.pointCount)
            let prefix = rank == 0 ? "" : "rank\(rank)/"
            var mapped: [String: String] = [:]
            block.forEachRow { step, time, values in
                let ms = time >= 0 ? time / 1000 : 0
                for (key, value) in values {
                    let k = mapped[key] ?? { let m = MLflowNames.key(prefix + key); mapped[key] = m; return m }()
                    out.append(.metric(.init(key: k, value: value, timestamp: ms, step: step)))
                }
            }
            return out
        case .histogram(let h):
            guard histogramRecords else { return [] }
            var json = CanonicalJSON(capacity: 256)
            json.append(record)
            let key = (rank == 0 ? "" : "rank\(rank)/") + h.key
            let path = ArtifactPath(["histograms", key, "\(h.step)_\(h.time).json"])
            return [.op(.putArtifact(path, json.output))]
        case .checkpoint(let c):
            var json = CanonicalJSON(capacity: 256)
            json.append(record)
            let path = ArtifactPath(c.path)
            var out: [Item] = [
                .op(.uploadFile(path, source: runPath + "/" + c.path, size: c.size, sha256: c.sha256)),
                .op(.putArtifact(ArtifactPath(c.path + ".json"), json.output)),
            ]
            out += c.aliases.map { .tag(MLflowNames.key("runlog.checkpoint." + $0), path.description) }
            return out
        case .tags(let t):
            var out: [Item] = t.add.map { .tag(Self.tagKey($0), "true") }
            out += t.remove.map { .op(.deleteTag(Self.tagKey($0))) }
            if let notes = t.notes { out += Self.tagItems("mlflow.note.content", notes) }
            return out
        case .summary(let entries):
            return Self.flatten(entries).flatMap { Self.tagItems(MLflowNames.key("summary." + $0.0), $0.1) }
        case .runEnd(let e):
            return [.op(.runEnd(key: "\(attempt)/\(rank)", .init(status: RunStatus(runEnd: e.status).rawValue, endTime: e.endTime)))]
        case .environment(let entries):
            return environmentItems(entries)
        case .checkpointRemoved, .console, .unknown:
            return []
        }
    }

    /// The key of a run's tag: `tag.<tag>` when it would pass for one of
    /// MLflow's or runlog's own (mapped after the prefix, so it stays within 250).
    static func tagKey(_ tag: String) -> String {
        let k = MLflowNames.key(tag)
        return k.hasPrefix("mlflow.") || k.hasPrefix("runlog.") ? MLflowNames.key("tag." + k) : k
    }

    /// `[("a.b", "1"), …]`: nested maps joined with `.`, leaves as parameter strings.
    static func flatten(_ entries: [Entry]) -> [(String, String)] {
        Value.flattened(entries).map { ($0.key, string($0.value)) }
    }

    static func string(_ v: Value) -> String {
        if case .string(let s) = v { return s }
        var json = CanonicalJSON(capacity: 64)
        json.value(v)
        return String(decoding: json.output, as: UTF8.self)
    }
}
