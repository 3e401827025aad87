// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

/// MLflow that does not answer: `--once` gives up in bounded time with its
/// own status; the daemon retries, shows the error in `status`, and says once
/// when MLflow answers again.
@Suite(.needsMLflow) struct UnreachableTests {
    let server = MLflowServer.shared

    func finishedRun(_ root: String, _ id: String) throws {
        let run = try TestRun(root: root, id: id, project: "unreachable")
        try run.metrics(["loss"], steps: 0..<20) { _, s in Double(s) }
        try run.end()
    }

    @Test(arguments: ["closed port", "https on http"])
    func onceGivesUpAfterTheLimitWithOneLineAndStatus6(_ mistake: String) throws {
        let root = TestRun.makeRoot()
        try finishedRun(root, "lost")
        let url = mistake == "closed port" ? "http://127.0.0.1:\(MLflowServer.freePort())" : "https://127.0.0.1:\(server.port)"
        let started = Date()
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", url, "--once", "--give-up-after", "2"], timeout: 60, log: root + "/once.log")
        let took = Date().timeIntervalSince(started)
        #expect(status == 6, "\(log)")
        #expect(took < 15, "\(took) s")
        let lines = log.split(separator: "\n").map(String.init)
        #expect(lines.last?.hasPrefix("syncd: MLflow at \(url) did not answer for 2 s (--give-up-after): ") == true, "\(log)")
        #expect(lines.filter { $0.hasPrefix("syncd: ") }.count == 1, "\(log)")
        #expect(lines.filter { $0.contains("does not answer") }.count == 1, "\(log)")
        // What it met is in the state for `syncd status`.
        let (_, table) = try SyncdProcess.run(["status", "--root", root], timeout: 30, log: root + "/status.log")
        let row = try #require(table.split(separator: "\n").first { $0.hasPrefix("lost\t") })
        #expect(row.hasSuffix(" (retrying)"), "\(row)")
        #expect(row.contains(url), "\(row)")
    }

    @Test func theDaemonShowsTheErrorWhileItRetriesAndSaysOnceWhenMLflowAnswersAgain() throws {
        let root = TestRun.makeRoot()
        try finishedRun(root, "patient")
        let proxy = try FaultProxy(upstreamPort: server.port, faultRate: 0)
        defer { proxy.stop() }
        proxy.always(.unavailable)
        let daemon = try SyncdProcess(["--root", root, "--mlflow", proxy.url], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let store = try StateStore(directory: root + "/.syncd")
        #expect(eventually(timeout: 30) { ((try? store.load("patient"))??.lastError ?? "").contains("HTTP 503") } != nil, "\(daemon.log)")
        let (_, table) = try SyncdProcess.run(["status", "--root", root], timeout: 30, log: root + "/status.log")
        let row = try #require(table.split(separator: "\n").first { $0.hasPrefix("patient\t") })
        #expect(row.contains("\tpending\t20\t") && row.contains("HTTP 503") && row.hasSuffix(" (retrying)"), "\(row)")
        proxy.heal()
        #expect(eventually(timeout: 60) { (try? store.load("patient"))??.status == .synced } != nil, "\(daemon.log)")
        #expect(try store.load("patient")?.lastError == nil)
        #expect(daemon.stop(SIGTERM, timeout: 20) == 0)
        let log = daemon.log
        #expect(log.components(separatedBy: "does not answer").count == 2, "\(log)")
        #expect(log.components(separatedBy: "answers again").count == 2, "\(log)")
    }
}
