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

    @Test func sighupReadsTheChangedConfigAndFollowsTheRootItNowNames() throws {
        let first = TestRun.makeRoot(), second = TestRun.makeRoot()
        let config = first + "/syncd.toml"
        func configure(_ roots: [String]) throws {
            let list = roots.map { "\"\($0)\"" }.joined(separator: ", ")
            try "roots = [\(list)]\nstate = \"\(first)/.syncd\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        }
        try configure([first])
        let daemon = try SyncdProcess(["--config", config, "--mlflow", server.url], log: first + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let run = try TestRun(root: second, id: "named-after-sighup", project: "live")
        try run.metrics(["loss"], steps: 0..<30) { _, s in Double(s) }
        try run.end()
        let store = try StateStore(directory: first + "/.syncd")
        #expect(eventually(timeout: 3) { (try? store.load(run.id)) != nil } == nil, "a root not in the config was followed")
        try configure([first, second])
        kill(daemon.pid, SIGHUP)
        #expect(eventually(timeout: 30) { (try? store.load(run.id))??.status == .synced } != nil, "after SIGHUP: \(daemon.log)")
        let runID = try #require(try store.load(run.id)?.mlflowRunID)
        #expect(try server.client().metricHistory(runID: runID, key: "loss").count == 30)
        #expect(daemon.stop(SIGTERM, timeout: 15) == 0, "syncd log:\n\(daemon.log)")
    }

    @Test func sigtermWhileARequestIsStalledExitsZeroWithinTheGraceTimeAndTheNextStartLosesNothing() throws {
        let root = TestRun.makeRoot()
        let proxy = try FaultProxy(upstreamPort: server.port, faultRate: 0, stallSeconds: 30)
        defer { proxy.stop() }
        try "shutdown_grace = 2\n".write(toFile: root + "/syncd.toml", atomically: true, encoding: .utf8)
        let arguments = ["--root", root, "--mlflow", proxy.url, "--config", root + "/syncd.toml"]
        let daemon = try SyncdProcess(arguments, log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let run = try TestRun(root: root, id: "stalled", project: "live")
        try run.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
        let store = try StateStore(directory: root + "/.syncd")
        #expect(eventually(timeout: 20) { (try? store.load(run.id))??.mlflowRunID != nil } != nil, "\(daemon.log)")
        proxy.always(.stall)
        try run.metrics(["loss"], steps: 10..<20) { _, s in Double(s) }
        #expect(eventually(timeout: 10) { proxy.counts[.stall, default: 0] > 0 } != nil, "no request reached the proxy")
        let sent = Date()
        #expect(daemon.stop(SIGTERM, timeout: 10) == 0, "\(daemon.log)")
        // The engine abandons the stalled request at the grace time and exits within a
        // second of it (README), well before the last-resort exit 2 s after the grace time.
        let took = Date().timeIntervalSince(sent)
        #expect(took < 2 + 1, "exited after \(took) s")
        #expect(daemon.log.contains("stopped; cursors saved") && !daemon.log.contains("exiting now"), "\(daemon.log)")
        proxy.heal()
        try run.end()
        let (status, log) = try SyncdProcess.run(arguments + ["--once"], timeout: 60, log: root + "/once.log")
        #expect(status == 0, "\(log)")
        let runID = try #require(try store.load(run.id)?.mlflowRunID)
        #expect(try server.client().metricHistory(runID: runID, key: "loss").count == 20)
        #expect(try server.client().getRun(runID).status == "FINISHED")
    }

    @Test func killingSyncdAtRandomMomentsLosesAndDuplicatesNothing() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "kill-9", project: "live")
        // A proxy without faults counts the points MLflow acknowledged, at the wire.
        let proxy = try FaultProxy(upstreamPort: server.port, faultRate: 0)
        defer { proxy.stop() }
        var kills = 0
        var step: Int64 = 0
        var daemon = try SyncdProcess(["--root", root, "--mlflow", proxy.url], log: root + "/syncd.log")
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
            daemon = try SyncdProcess(["--root", root, "--mlflow", proxy.url], log: root + "/syncd.log")
        }
        daemon.kill9()
        kills += 1
        try run.end()
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", proxy.url, "--once"], timeout: 300, log: root + "/once.log")
        #expect(status == 0, "\(log)")
        // MLflow's SQL store keeps one copy of a point sent twice, so only the wire shows a resend:
        // after each kill, at most the one request in flight (1,000 items) is sent again.
        #expect(proxy.metricItemsAcknowledged >= Int(step) * 3, "points acknowledged: \(proxy.metricItemsAcknowledged)")
        #expect(proxy.metricItemsResent <= 1000 * kills, "\(proxy.metricItemsResent) points sent again after \(kills) kills")
        let state = try Sync.state(root: root, run: "kill-9")
        let client = server.client()
        let runID = try #require(state.mlflowRunID)
        #expect(try client.findRuns(experimentID: try #require(state.experimentID), tag: "runlog.run_id", value: "kill-9") == [runID])
        try Mirror(path: run.path).check(client, runID: runID, experimentID: state.experimentID!)
    }
}
