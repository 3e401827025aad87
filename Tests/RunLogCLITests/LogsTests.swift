// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// `runlog logs`: what a run printed, as a terminal showed it.
@Suite struct LogsTests {
    static func out(_ t: Int64, _ text: String, dropped: UInt64 = 0) -> Record {
        .console(ConsoleText(stream: .stdout, time: Fixtures.t0 + t, text: text, dropped: dropped))
    }

    static func err(_ t: Int64, _ text: String) -> Record {
        .console(ConsoleText(stream: .stderr, time: Fixtures.t0 + t, text: text))
    }

    /// A run whose attempt 1 has console records both in its log (as `wrap`
    /// writes them) and in a console log (as the helper does), interleaved in time.
    static func makeRun(_ root: String) throws -> String {
        let run = try Fixtures.makeRun(root: root, id: "r1", frames: [
            [.runStart(Fixtures.runStart("r1")), out(10, "epoch 1\n"), out(40, "epoch 2\r\n")],
            Fixtures.metrics(rows: 3),
            [Fixtures.runEnd(.failed)],
        ])
        let console = run + "/logs/" + ConsoleLogName(attempt: 1, rank: 0, number: 0).fileName
        try Fixtures.writeLog(console, header: Fixtures.header("r1"), frames: [
            [out(20, "train:  10%"), err(25, "warning: slow\n"), out(30, "\rtrain: 100%\n")],
            [out(50, "half a li"), out(60, "ne\n", dropped: 4096), err(70, "Traceback\n  boom\nRuntimeError: x")],
        ])
        return run
    }

    @Test func logsMergesBothStreamsAndBothSourcesByTime() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Self.makeRun(dir)
        let r = try CLI.run(["logs", run])
        #expect(r.status == 0)
        #expect(r.stderr == "")
        #expect(r.stdout == """
            epoch 1
            warning: slow
            train: 100%
            epoch 2
            half a li
            [4096 bytes of stdout dropped]
            ne
            Traceback
              boom
            RuntimeError: x

            """)
    }

    @Test func logsFiltersByStreamTimeAndTail() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Self.makeRun(dir)
        let stderr = try CLI.run(["logs", "--stream", "stderr", run])
        #expect(stderr.stdout == "warning: slow\nTraceback\n  boom\nRuntimeError: x\n")
        let tail = try CLI.run(["logs", "-n", "2", "--stream", "stdout", run])
        #expect(tail.stdout == "[4096 bytes of stdout dropped]\nne\n")
        let since = "2025-11-26T15:40:52.000040Z"  // t0 + 40 µs
        let late = try CLI.run(["logs", "--since", since, "--root", dir, "r1"])
        #expect(late.stdout == "epoch 2\nhalf a li\n[4096 bytes of stdout dropped]\nne\nTraceback\n  boom\nRuntimeError: x\n")
        let none = try CLI.run(["logs", "--since", "1h", run])
        #expect(none.status == 0)
        #expect(none.stdout == "")
        // A duration reaching back before the epoch keeps all of it.
        let all = try CLI.run(["logs", run])
        let ancient = try CLI.run(["logs", "--since", "99999999999999999d", run])
        #expect(ancient.status == 0 && !all.stdout.isEmpty && ancient.stdout == all.stdout, "\(ancient.stderr)")
        let zero = try CLI.run(["logs", "--tail", "0", run])
        #expect(zero.stdout == "")
    }

    @Test func logsOfSeveralAttemptsAreHeadedAndKind10IsDumpable() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Self.makeRun(dir)
        let second = run + "/logs/" + SegmentName(attempt: 2, rank: 0, segment: 0).fileName
        try Fixtures.writeLog(second, header: Fixtures.header("r1", attempt: 2), frames: [
            [.runStart(Fixtures.runStart("r1")), Self.out(100, "resumed\n"), Fixtures.runEnd(.finished)],
        ])
        let r = try CLI.run(["logs", "--stream", "stdout", "--tail", "3", run])
        #expect(r.stdout == "ne\n==> attempt 2 rank 0 <==\nresumed\n")
        let dump = try CLI.run(["dump", "--kind", "console", "--json", run])
        #expect(dump.status == 0)
        #expect(dump.stdout.split(separator: "\n").count == 9)
        #expect(dump.stdout.contains(#"{"kind":"console","stream":"stdout","time":1764171652.000060,"text":"ne\n","dropped":4096}"#))
    }

    @Test func logsRefusesBadArgumentsInOneLine() throws {
        for (args, message) in [
            (["logs", "--stream", "both", "x"], "Error: --stream is stdout or stderr, got 'both'"),
            (["logs", "--since", "yesterday", "x"], "Error: --since takes a UTC time like 2026-11-29T23:00:00Z or a duration like 10m, got 'yesterday'"),
            (["logs", "--since", "2026-13-01T00:00:00Z", "x"], "Error: --since takes a UTC time like 2026-11-29T23:00:00Z or a duration like 10m, got '2026-13-01T00:00:00Z'"),
            (["logs", "--tail=-1", "x"], "Error: --tail must be 0 or more, got -1"),
            (["logs", "--since=-5m", "x"], "Error: --since takes a UTC time like 2026-11-29T23:00:00Z or a duration like 10m, got '-5m'"),
            (["logs", "--since", "1e3s", "x"], "Error: --since takes a UTC time like 2026-11-29T23:00:00Z or a duration like 10m, got '1e3s'"),
        ] {
            let r = try CLI.run(args)
            #expect(r.status == 2)
            #expect(r.stderr.split(separator: "\n").first.map(String.init) == message)
        }
        let missing = try CLI.run(["logs", "/nonexistent/run"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "runlog: /nonexistent/run: No such file or directory\n")
    }

    @Test func logsFollowPrintsLinesAsTheyComeAndTheLastOnesAfterTheRunEnd() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = dir + "/live"
        try FileManager.default.createDirectory(atPath: run + "/logs", withIntermediateDirectories: true)
        let main = try Fixtures.writeLog(run + "/logs/a0001-r0000-s0000.rlog", header: Fixtures.header("live"),
                                         frames: [[.runStart(Fixtures.runStart("live"))]])
        let console = try Fixtures.writeLog(run + "/logs/a0001-r0000-c0000.rlog", header: Fixtures.header("live"),
                                            frames: [[Self.out(1, "one\n"), Self.out(2, "two\n")]])
        let follower = try FollowTests.Running(["logs", "--follow", "--tail", "1", run])
        #expect(follower.waitForLines(1))
        #expect(follower.output == "two\n")
        try console.append([Self.out(3, "three\n"), Self.err(4, "almost")])
        #expect(follower.waitForLines(2))
        try main.append([Fixtures.runEnd(.failed)])
        try main.sync()
        try console.append([Self.err(5, " done\n")])  // printed after the run end, before the process exited
        #expect(follower.wait() == 0)
        #expect(follower.output == "two\nthree\nalmost done\n")
    }
}
