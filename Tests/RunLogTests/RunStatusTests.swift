// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

@Suite struct RunStatusTests {
    @Test func statusFollowsTheRunFromRunningToItsEnd() throws {
        let dir = TempDir()
        defer { dir.remove() }
        for (id, status, expected) in [
            ("fin", RunEnd.Status.finished, RunStatus.finished), ("fail", .failed, .failed), ("kill", .killed, .killed),
        ] {
            let run = try Run(id: id, root: dir.path, options: testOptions())
            run.log(["x": 1])
            #expect(try run.directory!.status().0 == .running)
            #expect(FileManager.default.fileExists(atPath: run.directory!.livePath(attempt: 1, rank: 0)))
            #expect(run.finish(status: status, exitCode: 3, message: "why"))
            let (s, ranks) = try run.directory!.status()
            #expect(s == expected)
            #expect(ranks.first?.runEnd?.exitCode == 3 && ranks.first?.runEnd?.message == "why")
            #expect(!FileManager.default.fileExists(atPath: run.directory!.livePath(attempt: 1, rank: 0)))
            #expect(!run.finish(), "a second finish does nothing")
        }
    }

    @Test func aNonZeroExitCodeIsAFailure() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(id: "exit", root: dir.path, options: testOptions())
        run.finish(exitCode: 2)
        #expect(try run.directory!.status().0 == .failed)
    }

    @Test func theLivenessFileDescribesTheWriterAndIsLocked() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(id: "live", root: dir.path, options: testOptions())
        defer { run.finish() }
        let path = run.directory!.livePath(attempt: 1, rank: 0)
        let live = try #require(LiveFile.load(path: path))
        #expect(live.pid == getpid() && live.host == Host.name && live.bootID == Host.bootID && live.locked)
        #expect(live.pidStart == Host.processStartTicks(getpid()))
        #expect(LivenessCheck.lockHeld(path: path) == true)
        // Reading the file in this process must not release the lock.
        #expect(LivenessCheck.lockHeld(path: path) == true)
    }

    @Test func heartbeatsKeepTheLivenessFileFresh() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.heartbeatInterval = 0.1
        let run = try Run(id: "beat", root: dir.path, options: options)
        defer { run.finish() }
        let path = run.directory!.livePath(attempt: 1, rank: 0)
        let before = try #require(FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        usleep(400_000)
        let after = try #require(FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        #expect(after > before)
    }

    @Test func disabledModeCreatesNothingAndIgnoresEveryCall() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.mode = .disabled
        let run = try Run(project: "p", config: ["a": 1], id: "off", root: dir.path + "/root", options: options)
        #expect(!run.isEnabled && run.directory == nil && run.logPath == nil)
        let k = run.keys("a", "b")
        run.log(k, 1, 2)
        run.log(["a": 1])
        run.logHistogram("h", values: [1.0, 2.0])
        run.summary["x"] = 1
        run.config.update(["y": 2])
        run.addTags("t")
        #expect(try run.saveCheckpoint(name: "c", file: URL(fileURLWithPath: "/nonexistent")) == nil)
        try run.flush()
        #expect(run.finish())
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/root"))
        #expect(run.stats.logged == 0)
    }

    @Test func recordsAfterFinishAreIgnoredAndReportedOnceToAHandlerThatMayLog() throws {
        let dir = TempDir()
        defer { dir.remove() }
        final class Box: @unchecked Sendable { var run: Run?; var lines: [String] = [] }
        let box = Box()
        var options = testOptions()
        options.onError = { line in
            box.lines.append(line)
            box.run?.log(["reentrant": 1])  // the handler runs without the logger's lock held
        }
        let run = try Run(id: "after", root: dir.path, options: options)
        box.run = run
        run.log(["x": 1], step: 0)
        #expect(run.finish())
        run.log(["x": 2], step: 1)
        run.summary["late"] = true
        #expect(box.lines.count == 1 && box.lines[0].contains("after finish()"))
        let log = try readRun(run.directory!)[0]
        #expect(log.rows.map(\.values) == [["x": 1]])
        #expect(log.records.last?.kind == 8, "the run end stays the last record")
        box.run = nil
    }
}
