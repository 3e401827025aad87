// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import Testing

/// The daemon's threads take no signal; one thread takes SIGTERM, SIGINT
/// and SIGHUP, and a stop cuts every wait short (here: the backoff of
/// requests to a server that is not there), well within the grace time.
@Suite struct SignalTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func theDaemonStopsAtOnceWithStatus0WhileItsRequestsAreRetrying(_ signal: Int32) throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "waiting", project: "signals")
        try run.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
        try run.end()
        let url = "http://127.0.0.1:\(MLflowServer.freePort())"
        let daemon = try SyncdProcess(["--root", root, "--mlflow", url], log: root + "/daemon.log")
        // Retrying: the error shows in the state.
        #expect(eventually(timeout: 30) { ((try? StateStore(directory: root + "/.syncd").load("waiting"))??.lastError ?? "").contains("retrying") } != nil,
                "\(daemon.log)")
        // SIGHUP restarts the engine; it goes on retrying.
        kill(daemon.pid, SIGHUP)
        #expect(eventually(timeout: 10) { daemon.log.contains("reloaded the config") } != nil, "\(daemon.log)")
        #expect(daemon.process.isRunning)
        let started = Date()
        #expect(daemon.stop(signal, timeout: 8) == 0, "\(daemon.log)")
        #expect(Date().timeIntervalSince(started) < 5, "the default grace is 10 s; nothing was in flight for long")
        #expect(daemon.log.contains("stopped; cursors saved"), "\(daemon.log)")
        // The state directory is free for the next syncd.
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", url, "--once", "--give-up-after", "1"], timeout: 30, log: root + "/once.log")
        #expect(status == 6, "\(log)")
    }
}
