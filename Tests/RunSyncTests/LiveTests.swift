// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

@Suite("syncd following live runs", .serialized, .needsMLflow)
struct LiveTests {
    let server = MLflowServer.shared

    @Test(arguments: [[], ["--poll"]])
    func pointsOfALiveRunReachMLflowWithinSecondsAndSIGTERMExitsCleanly(mode: [String]) throws {
        let root = TestRun.makeRoot()
        let daemon = try SyncdProcess(["--root", root, "--mlflow", server.url] + mode, log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let id = mode.isEmpty ? "live-inotify" : "live-poll"
        let run = try TestRun(root: root, id: id, project: "live")
        let client = server.client()
        let store = try StateStore(directory: root + "/.syncd")
        _ = eventually(timeout: 20) { (try? store.load(id))??.mlflowRunID != nil }
        let runID = try #require(try store.load(id)?.mlflowRunID)
        var lags: [Double] = []
        for i in Int64(0)..<8 {
            try run.metrics(["loss"], steps: (i * 10)..<(i * 10 + 10)) { _, s in Double(s) }
            let lag = try eventually(timeout: 10) { try client.metricHistory(runID: runID, key: "loss").count == Int(i * 10 + 10) }
            lags.append(try #require(lag, "step block \(i) did not arrive within 10 s"))
        }
        lags.sort()
        #expect(lags[lags.count / 2] < 2.0, "median lag \(lags[lags.count / 2]) s")
        #expect(try client.getRun(runID).status == "RUNNING")
        // SIGHUP reloads the config; the daemon carries on.
        kill(daemon.pid, SIGHUP)
        _ = eventually(timeout: 10) { daemon.log.contains("reloaded the config") }
        try run.metrics(["loss"], steps: 80..<90) { _, s in Double(s) }
        #expect(try eventually(timeout: 10) { try client.metricHistory(runID: runID, key: "loss").count == 90 } != nil, "after SIGHUP: \(daemon.log)")
        try run.end()
        #expect(try eventually(timeout: 15) { try client.getRun(runID).status == "FINISHED" } != nil)
        #expect(daemon.stop(SIGTERM, timeout: 15) == 0, "syncd log:\n\(daemon.log)")
        #expect(try Sync.state(root: root, run: id).status == .synced)
    }

    @Test func killingSyncdAtRandomMomentsLosesAndDuplicatesNothing() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "kill-9", project: "live")
        var kills = 0
        var step: Int64 = 0
        var daemon = try SyncdProcess(["--root", root, "--mlflow", server.url], log: root + "/syncd.log")
        while kills < 20 {
            let until = Date().addingTimeInterval(Double.random(in: 0.15...0.9))
            while Date() < until {
                try run.metrics(["loss", "acc", "lr"], steps: step..<(step + 40)) { k, s in k == "lr" ? 0.1 : Double(s) * (k == "loss" ? -1 : 1) }
                step += 40
                if step % 800 == 0 { try run.append([.config([Entry("phase", .int(step))]), .summary([Entry("step", .int(step))])]) }
                Thread.sleep(forTimeInterval: 0.02)
            }
            daemon.kill9()
            kills += 1
            daemon = try SyncdProcess(["--root", root, "--mlflow", server.url], log: root + "/syncd.log")
        }
        daemon.kill9()
        try run.end()
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"], timeout: 300, log: root + "/once.log")
        #expect(status == 0, "\(log)")
        let state = try Sync.state(root: root, run: "kill-9")
        let client = server.client()
        let runID = try #require(state.mlflowRunID)
        #expect(try client.findRuns(experimentID: try #require(state.experimentID), tag: "runlog.run_id", value: "kill-9") == [runID])
        try Mirror(path: run.path).check(client, runID: runID, experimentID: state.experimentID!)
    }
}
