// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

/// What anyone who can write to a shared root, or start a second syncd, can
/// do to syncd: FIFOs where files belong, checkpoints that fail their check
/// or link out of the run, a second syncd on the same state directory.
@Suite("syncd against hostile files and a second syncd", .serialized, .needsMLflow)
struct HostileFileTests {
    let server = MLflowServer.shared

    /// A finished run of 50 steps of `loss` under `root`.
    @discardableResult
    func finishedRun(_ root: String, _ id: String) throws -> TestRun {
        let run = try TestRun(root: root, id: id, project: "hostile")
        try run.metrics(["loss"], steps: 0..<50) { _, s in Double(s) }
        try run.end()
        return run
    }

    /// A root with a good run and runs whose log, liveness file and state file are FIFOs.
    func rootWithFIFOs() throws -> String {
        let root = TestRun.makeRoot()
        try finishedRun(root, "good")
        let bad = try TestRun(root: root, id: "fifo-log", project: "hostile")
        try bad.metrics(["loss"], steps: 0..<5) { _, s in Double(s) }
        #expect(mkfifo(bad.path + "/logs/a0001-r0000-s0001.rlog", 0o644) == 0)
        #expect(mkfifo(bad.path + "/logs/a0002-r0000.live", 0o644) == 0)
        try finishedRun(root, "fifo-state")
        try FileManager.default.createDirectory(atPath: root + "/.syncd", withIntermediateDirectories: true)
        #expect(mkfifo(root + "/.syncd/fifo-state.json", 0o644) == 0)
        return root
    }

    @Test func fifosInARootStopNeitherOnceNorTheDaemonNorItsSIGTERM() throws {
        let root = try rootWithFIFOs()
        let started = Date()
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"], timeout: 60, log: root + "/once.log")
        #expect(status != nil && Date().timeIntervalSince(started) < 60, "--once did not end: \(log)")
        #expect(log.contains("fifo-state.json: a FIFO, not a regular file"), "\(log)")
        #expect(try Sync.state(root: root, run: "good").status == .synced)

        let daemonRoot = try rootWithFIFOs()
        let daemon = try SyncdProcess(["--root", daemonRoot, "--mlflow", server.url], log: daemonRoot + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let synced = eventually(timeout: 60) { (try? StateStore(directory: daemonRoot + "/.syncd").load("good"))??.status == .synced }
        #expect(synced != nil, "\(daemon.log)")
        let stopping = Date()
        #expect(daemon.stop(SIGTERM, timeout: 20) == 0, "\(daemon.log)")
        #expect(Date().timeIntervalSince(stopping) < 13, "SIGTERM took longer than its grace time")
    }

    @Test func aSecondSyncdOnTheSameStateDirectoryRefusesNamingTheHoldersPID() throws {
        let root = TestRun.makeRoot()
        for i in 0..<3 { try finishedRun(root, "one-\(i)") }
        let daemon = try SyncdProcess(["--root", root, "--mlflow", server.url], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let store = try StateStore(directory: root + "/.syncd")
        #expect(eventually(timeout: 60) { (0..<3).allSatisfy { (try? store.load("one-\($0)"))??.status == .synced } } != nil, "\(daemon.log)")
        for args in [["--once"], []] {
            let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url] + args, timeout: 20, log: root + "/second.log")
            #expect(status == 5, "\(args): \(log)")
            let refusal = "syncd: \(root)/.syncd: the state directory is in use by syncd (PID \(daemon.pid)); only one syncd may use a state directory\n"
            #expect(log.hasSuffix(refusal), "\(args): \(log)")
        }
        // `status` reads without the lock, next to the running daemon.
        let (status, report) = try SyncdProcess.run(["status", "--root", root], timeout: 20, log: root + "/status.log")
        #expect(status == 0, "\(report)")
        #expect(report.contains("one-2\tsynced"), "\(report)")
        #expect(daemon.stop(SIGTERM, timeout: 20) == 0)
        // Released with the process: the next syncd starts.
        let (again, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"], timeout: 60, log: root + "/again.log")
        #expect(again == 0, "\(log)")
        let client = server.client()
        let state = try Sync.state(root: root, run: "one-0")
        #expect(try client.findRuns(experimentID: state.experimentID!, tag: "runlog.run_id", value: "one-0").count == 1)
    }

    @Test func aBadCheckpointIsLeftOutAndNotedWhileTheRunGoesOn() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "bad-files", project: "hostile")
        try run.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
        try run.checkpoint(name: "m", step: 1, file: "changed.bin", bytes: Array(repeating: 1, count: 5000))
        try run.checkpoint(name: "m", step: 2, file: "linked.bin", bytes: Array(repeating: 2, count: 5000))
        try run.checkpoint(name: "m", step: 3, file: "fine.bin", bytes: Array(repeating: 3, count: 5000))
        try run.metrics(["loss"], steps: 10..<20) { _, s in Double(s) }
        try run.end()
        // Same size, other bytes.
        try Data(repeating: 9, count: 5000).write(to: URL(fileURLWithPath: run.path + "/checkpoints/m/1-changed.bin"))
        // The right bytes, but outside the run directory, through a link.
        let linked = run.path + "/checkpoints/m/2-linked.bin"
        try FileManager.default.moveItem(atPath: linked, toPath: root + "/outside.bin")
        #expect(symlink(root + "/outside.bin", linked) == 0)

        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"], timeout: 120, log: root + "/once.log")
        #expect(status == 0, "\(log)")
        let state = try Sync.state(root: root, run: "bad-files")
        #expect(state.status == .synced)
        #expect(state.fileErrors.keys.sorted() == ["checkpoints/m/1-changed.bin", "checkpoints/m/2-linked.bin"], "\(state.fileErrors)")
        let client = server.client()
        let id = try #require(state.mlflowRunID)
        let data = try client.getRun(id)
        #expect(data.status == "FINISHED")
        #expect(try client.metricHistory(runID: id, key: "loss").count == 20)
        #expect(data.tags["runlog.checkpoint_error.checkpoints/m/1-changed.bin"]?.contains("is not the recorded") == true, "\(data.tags)")
        #expect(data.tags["runlog.checkpoint_error.checkpoints/m/2-linked.bin"]?.contains("leads out of the run directory") == true, "\(data.tags)")
        let files = try client.listArtifacts(experimentID: state.experimentID!, runID: id, dir: "checkpoints/m").map(\.path)
        #expect(files.contains { $0.hasSuffix("3-fine.bin") })
        #expect(!files.contains { $0.hasSuffix("1-changed.bin") || $0.hasSuffix("2-linked.bin") }, "\(files)")
        var settings = Sync.settings(root: root, url: server.url)
        try settings.validate()
        let row = try #require(try StatusReport(settings: settings).rows.first { $0.id == "bad-files" })
        #expect(row.lastError.contains("left out: checkpoints/m/1-changed.bin"), "\(row.lastError)")
    }

    @Test func aPasswordInTheServerURLNeverAppearsInAnyOutput() throws {
        let root = TestRun.makeRoot()
        try finishedRun(root, "secret")
        let password = "S3cret-pw%2Fx"
        let url = "http://alice:\(password)@127.0.0.1:\(server.port)"
        var outputs: [String] = []
        let (once, log) = try SyncdProcess.run(["--root", root, "--mlflow", url, "--once", "--log-level", "trace"], timeout: 60, log: root + "/once.log")
        #expect(once == 0, "\(log)")
        #expect(log.contains("to http://127.0.0.1:\(server.port) ") && log.contains("basic auth as alice"), "\(log)")
        #expect(log.contains("warning syncd: [SyncDaemon] --mlflow holds a password: every user of this machine can read a command line (ps); prefer credentials_file"), "\(log)")
        outputs.append(log)
        outputs.append(try SyncdProcess.run(["validate", "--root", root, "--mlflow", url], log: root + "/validate.log").1)
        outputs.append(try SyncdProcess.run(["status", "--root", root], log: root + "/status.log").1)
        outputs.append(try SyncdProcess.run(["--root", root, "--once"], environment: ["MLFLOW_TRACKING_URI": url], timeout: 60, log: root + "/env.log").1)
        let refused = try SyncdProcess.run(["validate", "--root", root, "--mlflow", "ftp://alice:\(password)@127.0.0.1/"], log: root + "/bad.log")
        #expect(refused.0 == 2, "\(refused.1)")
        outputs.append(refused.1)
        // A token, at every level: sent, never printed.
        let token = ["MLFLOW_TRACKING_TOKEN": "tok-\(password)"]
        outputs.append(try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once", "--log-level", "trace"], environment: token, timeout: 60, log: root + "/token.log").1)
        outputs.append(try SyncdProcess.run(["validate", "--root", root, "--mlflow", server.url], environment: token, log: root + "/token-validate.log").1)
        outputs.append(try SyncdProcess.run(["status", "--root", root], environment: token, log: root + "/token-status.log").1)
        // A server that does not answer: errors and retries at every level.
        let unreachable = TestRun.makeRoot()
        try finishedRun(unreachable, "secret-2")
        let daemon = try SyncdProcess(["--root", unreachable, "--mlflow", "http://alice:\(password)@127.0.0.1:\(MLflowServer.freePort())", "--log-level", "trace"],
                                      log: unreachable + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        #expect(eventually(timeout: 20) { daemon.log.contains("127.0.0.1") && daemon.log.contains("retry") } != nil, "\(daemon.log)")
        #expect(daemon.stop(SIGTERM, timeout: 20) == 0)
        outputs.append(daemon.log)
        for dir in [root + "/.syncd", unreachable + "/.syncd"] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                outputs.append((try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "")
            }
        }
        for output in outputs {
            for secret in [password, "S3cret", "pw/x", "pw%2Fx", "YWxpY2U6UzNjcmV0LXB3L3g" /* base64 of alice:S3cret-pw/x */] {
                #expect(!output.contains(secret), "\(output)")
            }
        }
    }

    /// A disk that does not answer, made real by strace holding every
    /// `fsync` of syncd for 60 s (the first is its first state save): SIGTERM
    /// still ends syncd 2 s after its grace time, the request in flight abandoned.
    @Test func sigtermEndsSyncdInBoundedTimeWhateverIsStuck() throws {
        let strace = "/usr/bin/strace"
        guard FileManager.default.isExecutableFile(atPath: strace) else {
            Issue.record("strace is needed (tools/setup.d/10-apt.sh)")
            return
        }
        let root = TestRun.makeRoot()
        try finishedRun(root, "stuck")
        try "shutdown_grace = 1\n".write(toFile: root + "/syncd.toml", atomically: true, encoding: .utf8)
        let logPath = root + "/syncd.log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let traced = Process()
        traced.executableURL = URL(fileURLWithPath: strace)
        traced.arguments = ["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync", "-e", "inject=fsync:delay_enter=60s",
                            syncdPath, "--root", root, "--mlflow", server.url, "--config", root + "/syncd.toml"]
        traced.standardOutput = log
        traced.standardError = log
        try traced.run()
        defer { kill(traced.processIdentifier, SIGKILL) }
        let output = { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
        // The state file is written, but its fsync does not return.
        #expect(eventually(timeout: 60) { FileManager.default.fileExists(atPath: root + "/.syncd/stuck.json.tmp") } != nil, "\(output())")
        Thread.sleep(forTimeInterval: 0.5)
        let children = try String(contentsOfFile: "/proc/\(traced.processIdentifier)/task/\(traced.processIdentifier)/children", encoding: .utf8)
        let syncd = try #require(Int32(children.split(separator: " ").first ?? ""))
        let signalled = Date()
        kill(syncd, SIGTERM)
        // Ended: gone, or a zombie strace has not reaped yet (it holds the stuck thread's delay).
        func ended() -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(syncd)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return true }
            return stat[stat.index(close, offsetBy: 2)] == "Z"
        }
        let took = eventually(timeout: 20) { ended() }
        #expect(took != nil && Date().timeIntervalSince(signalled) < 1 + 2 + 2, "\(output())")
        #expect(output().contains("not stopped 3.0 s after SIGTERM; exiting now (cursors are saved)"), "\(output())")
    }
}
