// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import Testing

/// What MLflow should hold for a run directory, computed from its logs
/// independently of the sync engine, and the comparison with what MLflow holds.
struct Mirror {
    var metrics: [String: Set<MLflowClient.Metric>] = [:]
    var params: [String: String] = [:]
    var tags: [String: String] = [:]
    var histograms: [String: [UInt8]] = [:]
    var checkpoints: [String: [UInt8]] = [:]
    var status = "RUNNING"

    /// Reads every log of the run at `path`.
    init(path: String) throws {
        let dir = RunDirectory(path: path)
        var configSeen: [String: String] = [:]
        let segments = try dir.segments()
        var ends: [UInt64: [UInt64: RunStatus]] = [:]  // attempt → rank → status
        for segment in segments {
            let reader = try LogReader(path: segment.path)
            let prefix = segment.name.rank == 0 ? "" : "rank\(segment.name.rank)/"
            while let frame = try reader.next() {
                for record in frame.records {
                    switch record {
                    case .metrics(let b):
                        b.forEachRow { step, time, values in
                            for (k, v) in values {
                                let key = MLflowNames.key(prefix + k)
                                metrics[key, default: []].insert(.init(key: key, value: v, timestamp: time / 1000, step: step))
                            }
                        }
                    case .config(let entries):
                        for (k, v) in Self.flatten(entries) {
                            let key = MLflowNames.key(k)
                            if let first = configSeen[key] {
                                if first != v { tags[MLflowNames.key("runlog.config." + k)] = v }
                            } else {
                                configSeen[key] = v
                                params[key] = v.count > 6000 ? nil : v
                            }
                        }
                    case .summary(let entries):
                        for (k, v) in Self.flatten(entries) { tags[MLflowNames.key("summary." + k)] = v }
                    case .histogram(let h):
                        var json = CanonicalJSON()
                        json.append(record)
                        histograms[ArtifactPath(["histograms", prefix + h.key, "\(h.step)_\(h.time).json"]).description] = json.output
                    case .checkpoint(let c):
                        checkpoints[c.path] = c.sha256
                    case .tags(let t):
                        for a in t.add { tags[a] = "true" }
                        for r in t.remove { tags[r] = nil }
                    case .runEnd(let e):
                        ends[segment.name.attempt, default: [:]][segment.name.rank] = RunStatus(runEnd: e.status)
                    default: break
                    }
                }
            }
        }
        // spec/run-directory.md: the latest attempt's ranks decide; one without a run end still runs.
        if let latest = segments.map(\.name.attempt).max() {
            let ranks = Set(segments.filter { $0.name.attempt == latest }.map(\.name.rank))
            status = RunStatus.combine(ranks.map { ends[latest]?[$0] ?? .running }).rawValue.uppercased()
        }
    }

    static func flatten(_ entries: [Entry], prefix: String = "") -> [(String, String)] {
        var out: [(String, String)] = []
        for e in Value.collapsed(entries) {
            let key = prefix.isEmpty ? e.key : prefix + "." + e.key
            switch e.value {
            case .map(let inner) where !inner.isEmpty: out += flatten(inner, prefix: key)
            case .string(let s): out.append((key, s))
            default:
                var j = CanonicalJSON()
                j.value(e.value)
                out.append((key, String(decoding: j.output, as: UTF8.self)))
            }
        }
        return out
    }

    /// Checks that MLflow's run `runID` holds exactly this: every point once,
    /// every param and tag, every histogram and checkpoint byte for byte.
    func check(_ client: MLflowClient, runID: String, experimentID: String, status checkStatus: Bool = true) throws {
        let run = try client.getRun(runID)
        #expect(Set(run.metrics.keys) == Set(metrics.keys))
        for (key, expected) in metrics {
            let got = try client.metricHistory(runID: runID, key: key)
            let unique = Set(got).count
            #expect(got.count == unique, "duplicate points of \(key)")
            let gotSet = Set(got)
            let same = gotSet == expected
            #expect(same, "points of \(key): \(expected.subtracting(gotSet).count) missing, \(gotSet.subtracting(expected).count) unexpected")
        }
        for (k, v) in params { #expect(run.params[k] == v, "param \(k)") }
        #expect(Set(run.params.keys).isSuperset(of: params.keys))
        for (k, v) in tags { #expect(run.tags[k] == v, "tag \(k)") }
        for (path, bytes) in histograms {
            let got = try client.getArtifact(experimentID: experimentID, runID: runID, path: ArtifactPath(path))
            let same = got == bytes
            #expect(same, "histogram \(path)")
        }
        for (path, sha) in checkpoints {
            let got = try client.getArtifact(experimentID: experimentID, runID: runID, path: ArtifactPath(path))
            #expect(got.map { SHA256Hasher.hash($0) } == sha, "checkpoint \(path)")
        }
        if checkStatus { #expect(run.status == status, "status") }
    }
}
