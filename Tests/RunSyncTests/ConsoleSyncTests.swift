// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout
import RunSync
import TestSupport
import Testing

/// Console records reach MLflow as text artifacts, exactly once.
@Suite("Console output in MLflow", .needsMLflow)
struct ConsoleSyncTests {
    let server = MLflowServer.shared

    /// The console log `a0001-r0000-c0000.rlog` of `run`, as the Python client's helper writes it.
    static func consoleLog(_ run: TestRun) throws -> LogWriter {
        let name = ConsoleLogName(attempt: run.attempt, rank: run.rank, number: 0).fileName
        return try LogWriter(creating: run.path + "/logs/" + name,
                             header: FileHeader(runID: run.id, attempt: run.attempt, rank: run.rank, created: 1_764_000_000_000_000, writer: "runlog-tests/1"))
    }

    /// The parts `console/<log>/<stream>.NNNN.log` in MLflow, joined; nil when there is none.
    static func artifacts(_ client: MLflowClient, _ state: RunState, log: String, stream: String) throws -> (text: String, parts: Int)? {
        var text = ""
        var part = 0
        while let bytes = try client.getArtifact(
            experimentID: state.experimentID!, runID: state.mlflowRunID!,
            path: ArtifactPath(["console", log, "\(stream).\(String(format: "%04d", part)).log"])) {
            text += String(decoding: bytes, as: UTF8.self)
            part += 1
        }
        return part == 0 ? nil : (text, part)
    }

    /// The live run's state, nil while syncd has saved none (no issue recorded).
    static func state(_ root: String) -> RunState? {
        (try? StateStore(directory: root + "/.syncd").load("console-live")) ?? nil
    }

    static func lines(_ range: Range<Int>, width: Int = 100) -> String {
        range.map { "line \($0) " + String(repeating: "x", count: width) + "\n" }.joined()
    }

    @Test func consoleOfBothLogsArrivesAsTextPartsAsRunlogLogsShowsIt() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "console-once", project: "console")
        let console = try Self.consoleLog(run)
        var t: Int64 = 1_764_000_000_000_000
        func out(_ text: String, _ stream: ConsoleText.Stream = .stdout, dropped: UInt64 = 0) -> Record {
            t += 1
            return .console(ConsoleText(stream: stream, time: t, text: text, dropped: dropped))
        }
        // 2.6 MiB of stdout in records of 100 lines: three parts.
        for chunk in stride(from: 0, to: 25_000, by: 100) {
            _ = try console.append([out(Self.lines(chunk..<chunk + 100))])
        }
        _ = try console.append([out("epoch 1:  40%", .stderr), out("\repoch 1: 100%\n", .stderr), out("Traceback\n", .stderr, dropped: 77)])
        _ = try console.append([out("last words, no newline")])
        try console.sync()
        try run.append([out("in the run's own log\n")])
        try run.end()

        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.synced == ["console-once"])
        let state = try Sync.state(root: root, run: "console-once")
        let client = server.client()
        let stdout = try #require(try Self.artifacts(client, state, log: "a0001-r0000-c0000", stream: "stdout"))
        #expect(stdout.parts == 3)
        #expect(stdout.text == Self.lines(0..<25_000) + "last words, no newline\n")
        let stderr = try #require(try Self.artifacts(client, state, log: "a0001-r0000-c0000", stream: "stderr"))
        #expect(stderr.text == "epoch 1: 100%\n[77 bytes of stderr dropped]\nTraceback\n")
        let own = try #require(try Self.artifacts(client, state, log: "a0001-r0000-s0000", stream: "stdout"))
        #expect(own.text == "in the run's own log\n")
        #expect(state.consoles["a0001-r0000-c0000.rlog/stdout"] != nil)

        // A second pass uploads nothing new: the parts stay as they are.
        _ = try Sync.once(root: root, url: server.url)
        #expect(try Self.artifacts(client, state, log: "a0001-r0000-c0000", stream: "stdout")?.text == stdout.text)
    }

    @Test func liveConsoleArrivesWithinSecondsAndExactlyOnceAcrossKill9OfSyncd() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "console-live", project: "console")
        let console = try Self.consoleLog(run)
        var daemon = try SyncdProcess(["--root", root, "--mlflow", server.url], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let client = server.client()
        // One line, then how long until MLflow shows it.
        _ = try console.append([.console(ConsoleText(stream: .stdout, time: 1, text: "first line\n"))])
        try console.sync()
        let lag = try eventually(timeout: 30) {
            guard let state = Self.state(root), state.mlflowRunID != nil else { return false }
            return try Self.artifacts(client, state, log: "a0001-r0000-c0000", stream: "stdout")?.text == "first line\n"
        }
        #expect(lag != nil && lag! < 10, "\(daemon.log)")
        // 1.5 MiB more while syncd is killed and restarted three times.
        var expected = "first line\n"
        for round in 0..<3 {
            for chunk in stride(from: round * 5000, to: (round + 1) * 5000, by: 50) {
                let text = Self.lines(chunk..<chunk + 50)
                expected += text
                _ = try console.append([.console(ConsoleText(stream: .stdout, time: Int64(chunk + 2), text: text))])
                try console.sync()
                if chunk % 1000 == 0 { usleep(50_000) }
            }
            daemon.kill9()
            daemon = try SyncdProcess(["--root", root, "--mlflow", server.url], log: root + "/syncd.log")
        }
        try run.end()
        let done = try eventually(timeout: 60) {
            guard let state = Self.state(root), state.mlflowRunID != nil else { return false }
            return try Self.artifacts(client, state, log: "a0001-r0000-c0000", stream: "stdout")?.text.count == expected.count
        }
        #expect(done != nil, "\(daemon.log)")
        let state = try Sync.state(root: root, run: "console-live")
        let got = try #require(try Self.artifacts(client, state, log: "a0001-r0000-c0000", stream: "stdout"))
        #expect(got.text == expected)
        #expect(got.parts == 2)
        #expect(daemon.stop(SIGTERM, timeout: 15) == 0)
    }
}
