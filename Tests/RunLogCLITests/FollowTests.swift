// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// `dump --follow` against logs written while it reads.
@Suite struct FollowTests {
    /// Starts `runlog ARGS` with its output collected in the background.
    final class Running: @unchecked Sendable {
        let process: Process
        private let lock = NSLock()
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ args: [String]) throws {
            process = CLI.process(CLI.runlog, args)
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            DispatchQueue.global().async { [self] in
                while true {
                    let chunk = out.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    lock.withLock { data.append(chunk) }
                }
                done.signal()
            }
        }

        var output: String { lock.withLock { String(decoding: data, as: UTF8.self) } }

        /// Waits for `count` lines of output, at most `timeout` seconds.
        func waitForLines(_ count: Int, timeout: Double = 20) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if output.split(separator: "\n").count >= count { return true }
                usleep(20_000)
            }
            return false
        }

        /// Waits for the process to exit; its status, or nil after `timeout` seconds (then it is killed).
        func wait(timeout: Double = 20) -> Int32? {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            done.wait()
            return process.terminationStatus
        }
    }

    @Test func followPrintsRowsAsTheyAreWrittenAndEndsAtRunEnd() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/live.rlog"
        let writer = try LogWriter(creating: path, header: Fixtures.header("fol"))
        try writer.append([.runStart(Fixtures.runStart("fol"))])
        let follow = try Running(["dump", "--follow", "--json", path])
        #expect(follow.waitForLines(2))
        var expectedSteps: [Int] = []
        for batch in 0..<5 {
            let rows = Fixtures.metrics(rows: 20, first: batch * 20)
            try writer.append(rows)
            expectedSteps += Array((batch * 20)..<(batch * 20 + 20))
            // Each batch shows up while the writer is still going.
            #expect(follow.waitForLines(2 + expectedSteps.count), "batch \(batch)")
            #expect(follow.process.isRunning)
        }
        try writer.append([Fixtures.runEnd(.finished)])
        #expect(follow.wait() == 0)
        let lines = try CLI.jsonLines(follow.output)
        #expect(lines.first?["kind"] as? String == "header")
        #expect(lines.last?["kind"] as? String == "run_end")
        #expect(lines.filter { $0["kind"] as? String == "metrics" }.map { $0["step"] as? Int } == expectedSteps.map { $0 })
    }

    /// The run directory `root/id` with attempt 1's first segment: a run start and rows 0..<10; its path and writer.
    static func runWithTenRows(_ root: String, _ id: String) throws -> (String, LogWriter) {
        let run = root + "/" + id
        try FileManager.default.createDirectory(atPath: run + "/logs", withIntermediateDirectories: true)
        let first = try LogWriter(creating: run + "/logs/a0001-r0000-s0000.rlog", header: Fixtures.header(id))
        try first.append([.runStart(Fixtures.runStart(id))] + Fixtures.metrics(rows: 10))
        return (run, first)
    }

    @Test func followPicksUpNewSegmentsOfARun() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (run, _) = try Self.runWithTenRows(root, "seg")
        let follow = try Running(["dump", "--follow", run])
        #expect(follow.waitForLines(12))
        let second = try LogWriter(creating: run + "/logs/a0001-r0000-s0001.rlog", header: Fixtures.header("seg", segment: 1))
        try second.append(Fixtures.metrics(rows: 10, first: 10))
        #expect(follow.waitForLines(23))
        #expect(follow.process.isRunning)
        try second.append([Fixtures.runEnd(.finished)])
        #expect(follow.wait() == 0)
        let kinds = follow.output.split(separator: "\n").map { $0.prefix(while: { $0 != " " }) }
        #expect(kinds.filter { $0 == "header" }.count == 2)
        #expect(kinds.filter { $0 == "metrics" }.count == 20)
        #expect(kinds.last == "run_end")
    }

    @Test func followPicksUpANewAttemptOfARequeuedRun() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Attempt 1 ends without a run end (its job was requeued).
        let (run, first) = try Self.runWithTenRows(root, "req")
        try first.close()
        let follow = try Running(["dump", "--follow", "--json", run])
        #expect(follow.waitForLines(12))
        let second = try LogWriter(creating: run + "/logs/a0002-r0000-s0000.rlog", header: Fixtures.header("req", attempt: 2))
        try second.append([.runStart(Fixtures.runStart("req"))] + Fixtures.metrics(rows: 10, first: 10))
        #expect(follow.waitForLines(24), "\(follow.output)")
        #expect(follow.process.isRunning)
        try second.append([Fixtures.runEnd(.finished)])
        #expect(follow.wait() == 0)
        let lines = try CLI.jsonLines(follow.output)
        #expect(lines.filter { $0["kind"] as? String == "header" }.compactMap { $0["attempt"] as? Int } == [1, 2], "\(follow.output)")
        #expect(lines.filter { $0["kind"] as? String == "metrics" }.compactMap { $0["step"] as? Int } == Array(0..<20))
        #expect(lines.last?["kind"] as? String == "run_end")
    }

    @Test func followEndsQuietlyOnCtrlC() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/open.rlog"
        try Fixtures.writeLog(path, header: Fixtures.header("int"), frames: [[.runStart(Fixtures.runStart("int"))], Fixtures.metrics(rows: 3)])
        let follow = try Running(["dump", "--follow", "--json", path])
        #expect(follow.waitForLines(5))
        usleep(300_000)
        #expect(follow.process.isRunning)
        kill(follow.process.processIdentifier, SIGINT)
        #expect(follow.wait() == 0)
        #expect(try CLI.jsonLines(follow.output).count == 5)
    }

    @Test func aClosedPipeEndsTheOutputQuietly() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Fixtures.writeLog(dir + "/big.rlog", header: Fixtures.header("big"), frames: [Fixtures.metrics(rows: 20_000)])
        let script = "set -o pipefail; '\(CLI.runlog)' dump --json '\(dir)/big.rlog' | head -n 2; echo \"status=${PIPESTATUS[0]}\""
        let p = CLI.process("/bin/bash", ["-c", script])
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stdout.split(separator: "\n").count == 3)
        #expect(stdout.hasSuffix("status=0\n"))
        #expect(stderr == "")
    }
}
