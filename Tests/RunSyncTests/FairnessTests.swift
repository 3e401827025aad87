// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

/// README: "Runs take turns, one request per turn, so a busy run does not
/// starve the others."
@Suite("syncd: runs take turns", .needsMLflow)
struct FairnessTests {
    let server = MLflowServer.shared

    /// One worker, one run with a backlog of 300 requests and six quiet runs
    /// each writing a point now and then: every quiet point reaches MLflow
    /// within a few turns, long before the busy run's backlog is through.
    @Test func aBusyRunDoesNotStarveTheQuietOnes() throws {
        let root = TestRun.makeRoot()
        let daemon = try SyncdProcess(["--root", root, "--mlflow", server.url, "--workers", "1"], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let store = try StateStore(directory: root + "/.syncd")
        let client = server.client()
        let quiet = try (0..<6).map { try TestRun(root: root, id: "quiet\($0)", project: "fairness") }
        for run in quiet { try run.metrics(["tick"], steps: 0..<1) { _, _ in 0 } }
        let quietIDs = try quiet.map { run in
            _ = eventually(timeout: 30) { (try? store.load(run.id))??.mlflowRunID != nil }
            return try #require(try store.load(run.id)?.mlflowRunID, "\(run.id) not in MLflow: \(daemon.log)")
        }
        for id in quietIDs { #expect(try eventually(timeout: 30) { try client.metricHistory(runID: id, key: "tick").count == 1 } != nil) }

        // 100,000 steps of 3 keys: 300 requests of 1,000 points.
        let busy = try TestRun(root: root, id: "busy", project: "fairness")
        let steps: Int64 = 100_000
        for start in stride(from: Int64(0), to: steps, by: 5000) {
            try busy.metrics(["a", "b", "c"], steps: start..<(start + 5000)) { _, s in Double(s) }
        }
        _ = eventually(timeout: 30) { (try? store.load(busy.id))??.mlflowRunID != nil }
        let busyID = try #require(try store.load(busy.id)?.mlflowRunID, "\(daemon.log)")
        #expect(try eventually(timeout: 30) { try client.metricHistory(runID: busyID, key: "a").count > 0 } != nil)

        var lags: [Double] = []
        for round in Int64(1)...3 {
            for run in quiet { try run.metrics(["tick"], steps: round..<(round + 1)) { _, s in Double(s) } }
            let written = Date()
            var pending = Set(quietIDs.indices)
            while !pending.isEmpty && Date().timeIntervalSince(written) < 60 {
                for i in pending where try client.metricHistory(runID: quietIDs[i], key: "tick").count == Int(round) + 1 {
                    pending.remove(i)
                    lags.append(Date().timeIntervalSince(written))
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(pending.isEmpty, "round \(round): quiet runs \(pending.sorted()) waited over 60 s")
        }
        let busyDone = try client.metricHistory(runID: busyID, key: "a").count
        // One turn each: a quiet point waits for at most one busy request (and
        // five tiny ones); a starved one would wait for the whole backlog.
        #expect(lags.count == 18 && lags.max()! < 10, "lags \(lags.map { String(format: "%.2f", $0) })")
        #expect(busyDone < Int(steps), "the busy run's \(steps) steps were all through first (\(busyDone)): nothing showed turns")
    }

    /// README: "the ranks of a run take turns too". One worker, a two-rank
    /// live run whose rank 0 has a backlog of 300 requests: each point rank 1
    /// logs meanwhile reaches MLflow within a few requests, while rank 0's
    /// cursor is still short of its log's end. Sent rank by rank, rank 1's
    /// points would wait for the whole backlog.
    @Test func theRanksOfARunTakeTurns() throws {
        let root = TestRun.makeRoot()
        let rank0 = try TestRun(root: root, id: "ddp", project: "fairness")
        let rank1 = try TestRun(root: root, id: "ddp", project: "fairness", rank: 1)
        // 100,000 steps of 3 keys: 300 requests of 1,000 points.
        for start in stride(from: Int64(0), to: 100_000, by: 5000) {
            try rank0.metrics(["a", "b", "c"], steps: start..<(start + 5000)) { _, s in Double(s) }
        }
        let backlog = try #require(FileManager.default.attributesOfItem(atPath: rank0.logPath)[.size] as? Int64)
        let daemon = try SyncdProcess(["--root", root, "--mlflow", server.url, "--workers", "1"], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let store = try StateStore(directory: root + "/.syncd")
        let client = server.client()
        _ = eventually(timeout: 30) { (try? store.load("ddp"))??.mlflowRunID != nil }
        let runID = try #require(try store.load("ddp")?.mlflowRunID, "\(daemon.log)")
        let rank0Log = SegmentName(attempt: 1, rank: 0, segment: 0).fileName
        #expect(eventually(timeout: 30) { ((try? store.load("ddp"))??.segments[rank0Log]?.offset ?? 0) > 0 } != nil, "\(daemon.log)")

        for round in Int64(0)..<3 {
            try rank1.metrics(["tick"], steps: round..<(round + 1)) { _, s in Double(s) }
            let lag = try eventually(timeout: 60) { try client.metricHistory(runID: runID, key: "rank1/tick").count == Int(round) + 1 }
            let rank0Sent = try store.load("ddp")?.segments[rank0Log]?.offset ?? 0
            #expect(lag.map { $0 < 10 } == true, "round \(round): rank 1's point took \(lag.map { String(format: "%.2f s", $0) } ?? "over 60 s")")
            #expect(rank0Sent < backlog, "round \(round): rank 0's backlog (\(backlog) bytes) was all sent before rank 1's point")
        }
    }

    /// Taking turns keeps what rank 0 says first: three ranks logging
    /// different values of one config key, synced from scratch, give MLflow
    /// rank 0's as the param and another's as the tag `runlog.config.<key>`
    /// (rank 0's config goes out with its first request, before the others' turns).
    @Test func rankZerosConfigStillGoesFirst() throws {
        let root = TestRun.makeRoot()
        let ranks = try (0..<3).map { try TestRun(root: root, id: "ddp-config", project: "fairness", rank: UInt64($0)) }
        for (r, run) in ranks.enumerated() {
            try run.append([.config([Entry("device", .string("cuda:\(r)")), Entry("lr", 0.1)])])
            try run.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
            try run.end()
        }
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"], timeout: 120, log: root + "/once.log")
        #expect(status == 0, "\(log)")
        let runID = try #require(try StateStore(directory: root + "/.syncd").load("ddp-config")?.mlflowRunID)
        let run = try server.client().getRun(runID)
        #expect(run.params["device"] == "cuda:0" && run.params["lr"] == "0.1", "\(run.params)")
        #expect(["cuda:1", "cuda:2"].contains(run.tags["runlog.config.device"] ?? ""), "\(run.tags)")
        #expect(try server.client().metricHistory(runID: runID, key: "rank2/loss").count == 10)
    }
}
