// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import Testing

/// What MLflow should hold for a run directory, and the comparison with
/// what MLflow holds. The expectation is built apart from the code under
/// test: `Tests/Fixtures/mirror.py` reads the logs with the Python reader and
/// applies the documented mapping written out again in Python.
struct Mirror {
    var metrics: [String: Set<MLflowClient.Metric>] = [:]
    var params: [String: String] = [:]
    var tags: [String: String] = [:]
    var histograms: [String: [UInt8]] = [:]
    var checkpoints: [String: [UInt8]] = [:]
    var status = "RUNNING"

    struct Expected: Decodable {
        var metrics: [String: [[Row]]]
        var params: [String: String]
        var tags: [String: String]
        var histograms: [String: String]
        var checkpoints: [String: String]
        var status: String

        /// A step, a time in ms or a value in canonical JSON's text.
        enum Row: Decodable {
            case int(Int64), text(String)
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let i = try? c.decode(Int64.self) { self = .int(i) } else { self = .text(try c.decode(String.self)) }
            }
        }
    }

    struct ScriptFailed: Error, CustomStringConvertible { let description: String }

    /// Reads every log of the run at `path`, through `mirror.py`.
    init(path: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MLflowServer.venv + "/bin/python")
        p.arguments = [MLflowServer.packageRoot + "/Tests/Fixtures/mirror.py", path]
        var env = ProcessInfo.processInfo.environment
        env["PYTHONPATH"] = MLflowServer.packageRoot + "/tools/python"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ScriptFailed(description: "mirror.py \(path): \(errText)") }
        let e = try JSONDecoder().decode(Expected.self, from: data)
        for (key, rows) in e.metrics {
            metrics[key] = Set(try rows.map { row in
                guard row.count == 3, case .int(let step) = row[0], case .int(let ms) = row[1], case .text(let v) = row[2],
                      let value = Double(v) ?? ["NaN": Double.nan, "Infinity": .infinity, "-Infinity": -.infinity][v]
                else { throw ScriptFailed(description: "mirror.py: a metric row of \(key) is \(row)") }
                return MLflowClient.Metric(key: key, value: value, timestamp: ms, step: step)
            })
        }
        params = e.params
        tags = e.tags
        histograms = e.histograms.mapValues { Array($0.utf8) }
        checkpoints = try e.checkpoints.mapValues { hex in
            try stride(from: 0, to: hex.count, by: 2).map { i in
                let a = hex.index(hex.startIndex, offsetBy: i)
                guard let byte = UInt8(hex[a..<hex.index(a, offsetBy: 2)], radix: 16) else {
                    throw ScriptFailed(description: "mirror.py: sha256 \(hex)")
                }
                return byte
            }
        }
        status = e.status
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
