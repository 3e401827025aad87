// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import RunSync
import TestSupport
import Testing

@Suite("End to end against a real MLflow server", .needsMLflow)
struct EndToEndTests {
    let server = MLflowServer.shared

    @Test func everyPointParamTagHistogramAndCheckpointArrivesExactlyOnce() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "e2e-full", project: "e2e", tags: ["baseline", "mlflow.fake"])
        try run.append([.config([
            Entry("lr", 0.001), Entry("model", ["layers": 12, "act": "gelu", "dims": [64, 128]]),
            Entry("note[1]", "brackets"), Entry("long", .string(String(repeating: "x", count: 7000))),
        ])])
        try run.metrics(["loss", "acc@1", "rank/ok"], steps: 0..<1500) { k, s in k == "loss" ? 1.0 / Double(s + 1) : Double(s % 7) }
        try run.append([.metrics(MetricsBlock(keys: ["odd"], steps: [1, 2, 3], times: [1_764_000_000_000_000, 1_764_000_000_001_000, 1_764_000_000_002_000],
                                              values: [[.nan, .infinity, -.infinity]]))])
        var h = Histogram(key: "weights/w1", step: 10, time: 1_764_000_000_500_000, bins: .uniform(low: -1, high: 1), counts: [1, 5, 9, 2])
        h.count = 17
        try run.append([.histogram(h)])
        try run.checkpoint(name: "model", step: 100, file: "weights.bin", bytes: Array((0..<70_000).map { UInt8($0 % 251) }), aliases: ["best"])
        try run.append([.config([Entry("lr", 0.002)]), .summary([Entry("best_acc", 0.91)]), .tags(TagsUpdate(add: ["reviewed"], remove: ["baseline"], notes: "a note"))])
        try run.end()

        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.synced == ["e2e-full"] && summary.quarantined.isEmpty)
        let state = try Sync.state(root: root, run: "e2e-full")
        let runID = try #require(state.mlflowRunID)
        let expID = try #require(state.experimentID)
        var mirror = try Mirror(path: run.path)
        mirror.infinityIsClamped()
        let client = server.client()
        try mirror.check(client, runID: runID, experimentID: expID)

        // What the mapping promises beyond plain equality.
        let data = try client.getRun(runID)
        #expect(data.params["note_1_"] == "brackets")
        #expect(data.params["lr"] == "0.001" && data.tags["runlog.config.lr"] == "0.002")
        let long = String(repeating: "x", count: 7000)
        let longPath = "params/long/" + SHA256Hasher.hash(Array(long.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined() + ".txt"
        #expect(data.params["long"]?.hasPrefix(String(repeating: "x", count: 5000)) == true && data.params["long"]!.contains("artifact \(longPath)"))
        #expect(try client.getArtifact(experimentID: expID, runID: runID, path: ArtifactPath(longPath)) == Array(long.utf8))
        #expect(data.tags["tag.mlflow.fake"] == "true" && data.tags["baseline"] == nil && data.tags["reviewed"] == "true")
        #expect(data.tags["mlflow.note.content"] == "a note" && data.tags["summary.best_acc"] == "0.91")
        #expect(data.tags["runlog.checkpoint.best"] == "checkpoints/model/100-weights.bin")
        #expect(data.tags["runlog.run_id"] == "e2e-full" && data.status == "FINISHED" && data.endTime == 1_764_000_100_000)
        #expect(try client.metricHistory(runID: runID, key: "odd").contains { $0.value.isNaN })

        // A second pass sends nothing new and creates no second run.
        let again = try Sync.once(root: root, url: server.url)
        #expect(again.synced == ["e2e-full"])
        #expect(try Sync.state(root: root, run: "e2e-full").mlflowRunID == runID)
        try mirror.check(client, runID: runID, experimentID: expID)
    }

    @Test func lostStateFindsTheSameMLflowRunInsteadOfCreatingAnother() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "lost-state", project: "e2e")
        try run.metrics(["loss"], steps: 0..<50) { _, s in Double(s) }
        try run.end()
        _ = try Sync.once(root: root, url: server.url)
        let first = try Sync.state(root: root, run: "lost-state").mlflowRunID
        try FileManager.default.removeItem(atPath: root + "/.syncd")
        _ = try Sync.once(root: root, url: server.url)
        let second = try Sync.state(root: root, run: "lost-state")
        #expect(second.mlflowRunID == first)
        try Mirror(path: run.path).check(server.client(), runID: try #require(first), experimentID: try #require(second.experimentID))
    }

    @Test func crashedRunBecomesFailedAndANewAttemptMakesItRunningAgain() throws {
        let root = TestRun.makeRoot()
        let first = try TestRun(root: root, id: "requeued", project: "e2e")
        try first.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
        try first.crash()
        _ = try Sync.once(root: root, url: server.url)
        let state = try Sync.state(root: root, run: "requeued")
        let client = server.client()
        let runID = try #require(state.mlflowRunID)
        #expect(try client.getRun(runID).status == "FAILED")
        #expect(try client.getRun(runID).tags["runlog.status"] == "crashed")

        let second = try TestRun(root: root, id: "requeued", project: "e2e", attempt: 2)
        try second.metrics(["loss"], steps: 5..<20) { _, s in Double(s) * 2 }
        _ = try Sync.once(root: root, url: server.url)
        #expect(try client.getRun(runID).status == "RUNNING")
        try second.end()
        _ = try Sync.once(root: root, url: server.url)
        #expect(try Sync.state(root: root, run: "requeued").mlflowRunID == runID)
        try Mirror(path: first.path).check(client, runID: runID, experimentID: try #require(state.experimentID))
    }

    @Test func aKilledRunWithoutAProjectIsKilledInDefaultWithItsOwnerAndHost() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "no-project", project: "", host: "node-17.cluster")
        try run.metrics(["loss"], steps: 0..<3) { _, s in Double(s) }
        try run.end(.killed, at: 1_764_000_200_000_000)
        // The owner of the run directory, not the user syncd runs as.
        let nobody = try #require(getpwnam("nobody")).pointee.pw_uid
        #expect(chown(run.path, nobody, nobody) == 0)
        _ = try Sync.once(root: root, url: server.url)
        let state = try Sync.state(root: root, run: "no-project")
        #expect(state.experimentID == "0", "MLflow's Default experiment has id 0")
        let data = try server.client().getRun(try #require(state.mlflowRunID))
        #expect(data.status == "KILLED" && data.endTime == 1_764_000_200_000)
        #expect(data.tags["mlflow.user"] == "nobody" && data.tags["runlog.host"] == "node-17.cluster", "\(data.tags)")
    }

    @Test func aRunTheLoggerWritesInManySegmentsArrivesWholeLiveAndFinished() throws {
        let root = TestRun.makeRoot()
        var options = RunOptions()
        options.mode = .enabled
        options.writeInterval = 0.05
        options.segmentBytes = 16 << 10
        options.frameTarget = 4 << 10
        let run = try Run(project: "e2e", id: "segmented", root: root, options: options)
        let k = run.keys("loss", "acc")
        for s in 0..<5_000 { run.log(k, sin(Double(s)), Double(s) / 10_000, step: Int64(s)) }
        try run.flush()
        _ = try Sync.once(root: root, url: server.url)
        let client = server.client()
        let runID = try #require(try Sync.state(root: root, run: "segmented").mlflowRunID)
        #expect(try client.metricHistory(runID: runID, key: "loss").count == 5_000)
        #expect(try client.getRun(runID).status == "RUNNING")
        for s in 5_000..<10_000 { run.log(k, sin(Double(s)), Double(s) / 10_000, step: Int64(s)) }
        #expect(run.finish(exitCode: 0))
        _ = try Sync.once(root: root, url: server.url)
        let directory = try #require(run.directory)
        let segments = try directory.segments()
        #expect(segments.count >= 3)
        let state = try Sync.state(root: root, run: "segmented")
        #expect(state.status == .synced && state.segments.count == segments.count)
        try Mirror(path: directory.path).check(client, runID: runID, experimentID: try #require(state.experimentID))
    }

    @Test func ranksOfADistributedRunShareOneMLflowRunThatEndsWhenTheLastRankEnds() throws {
        let root = TestRun.makeRoot()
        let ranks = try (0..<3).map { try TestRun(root: root, id: "ddp", project: "e2e", rank: UInt64($0)) }
        for (r, run) in ranks.enumerated() {
            try run.metrics(["loss", "grad_norm"], steps: 0..<50) { k, s in Double(s) + (k == "loss" ? 0.5 : 0.25) * Double(r) }
        }
        try ranks[0].end()
        try ranks[2].end()
        _ = try Sync.once(root: root, url: server.url)
        let state = try Sync.state(root: root, run: "ddp")
        let client = server.client()
        let runID = try #require(state.mlflowRunID)
        // Rank 1 is still writing: the run is running, and each rank's points are under its own keys.
        #expect(try client.getRun(runID).status == "RUNNING")
        #expect(try client.metricHistory(runID: runID, key: "rank1/loss").count == 50)
        try ranks[1].metrics(["loss"], steps: 50..<60) { _, s in Double(s) }
        try ranks[1].end(.failed)
        _ = try Sync.once(root: root, url: server.url)
        // Any failed rank fails the run.
        #expect(try client.getRun(runID).status == "FAILED")
        #expect(try client.metricHistory(runID: runID, key: "rank1/loss").count == 60)
        #expect(try client.metricHistory(runID: runID, key: "loss").count == 50)
        #expect(try client.metricHistory(runID: runID, key: "rank2/grad_norm").map(\.value).max() == 49.5)
        try Mirror(path: ranks[0].path).check(client, runID: runID, experimentID: try #require(state.experimentID))
    }
}

extension Mirror {
    /// MLflow stores ±Infinity as ±1.7976931348623157e308.
    mutating func infinityIsClamped() {
        for (k, points) in metrics {
            metrics[k] = Set(points.map { p in
                var p = p
                if p.value.isInfinite { p.value = p.value > 0 ? .greatestFiniteMagnitude : -.greatestFiniteMagnitude }
                return p
            })
        }
    }
}

@Suite("A runlog demo run in MLflow", .needsMLflow)
struct DemoRunTests {
    @Test func everythingOfARunlogDemoRunEqualsWhatMLflowReturns() throws {
        let server = MLflowServer.shared
        let root = TestRun.makeRoot()
        let runlog = (syncdPath as NSString).deletingLastPathComponent + "/runlog"
        try #require(FileManager.default.isExecutableFile(atPath: runlog), "build the runlog CLI first")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: runlog)
        p.arguments = ["demo", "--steps", "3000", "--histograms-every", "500", "--checkpoint-every", "1500", "--dir", root, "--id", "demo-1"]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.synced == ["demo-1"])
        let state = try Sync.state(root: root, run: "demo-1")
        let mirror = try Mirror(path: root + "/demo-1")
        #expect(mirror.histograms.count >= 5, "\(mirror.histograms.count) histograms")
        #expect(mirror.checkpoints.count >= 1, "\(mirror.checkpoints.count) checkpoints")
        #expect(!mirror.params.isEmpty && !mirror.metrics.isEmpty)
        try mirror.check(server.client(), runID: try #require(state.mlflowRunID), experimentID: try #require(state.experimentID))
    }
}

@Suite("Checkpoints whose bytes changed", .needsMLflow)
struct CheckpointIntegrityTests {
    @Test func aCheckpointWhoseBytesNoLongerMatchItsSHA256IsNotUploadedAndTheRestOfTheRunIs() throws {
        let server = MLflowServer.shared
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "tampered", project: "e2e")
        try run.checkpoint(name: "m", step: 7, file: "w.bin", bytes: Array(repeating: 1, count: 50_000))
        // Same size, different bytes: only the hash can tell.
        try Data(Array(repeating: 2, count: 50_000)).write(to: URL(fileURLWithPath: run.path + "/checkpoints/m/7-w.bin"))
        try run.end()
        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.quarantined.isEmpty && summary.synced == ["tampered"])
        let state = try Sync.state(root: root, run: "tampered")
        let reason = state.fileErrors["checkpoints/m/7-w.bin"] ?? ""
        #expect(reason.contains("SHA-256") && reason.contains("7-w.bin"), "\(state.fileErrors)")
        let stored = try server.client().getArtifact(experimentID: try #require(state.experimentID), runID: try #require(state.mlflowRunID),
                                                     path: ArtifactPath("checkpoints/m/7-w.bin"))
        #expect(stored == nil, "a partial or wrong file reached MLflow")
    }
}
