// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

@Suite struct RequeueTests {
    @Test func aRequeuedRunContinuesWithASecondAttemptAndKeepsTheFirst() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let first = try Run(project: "p", id: "requeue", root: dir.path, options: testOptions())
        for step in 0..<100 { first.log(["loss": Double(step)], step: Int64(step)) }
        first.finish(status: .killed, exitCode: 143, message: "preempted")
        let firstLog = try Data(contentsOf: URL(fileURLWithPath: first.logPath!))

        let second = try Run(project: "p", id: "requeue", root: dir.path, resume: .must, options: testOptions())
        #expect(second.attempt == 2)
        #expect(try second.directory!.status().0 == .running, "the latest attempt decides")
        for step in 50..<150 { second.log(["loss": Double(step) + 0.5], step: Int64(step)) }
        second.finish()

        #expect(try Data(contentsOf: URL(fileURLWithPath: first.logPath!)) == firstLog, "attempt 1 is never changed")
        let run = second.directory!
        #expect(try run.segments().map(\.name.fileName) == ["a0001-r0000-s0000.rlog", "a0002-r0000-s0000.rlog"])
        let logs = try readRun(run)
        #expect(logs.map(\.header.attempt) == [1, 2])
        #expect(logs[1].header.runID == "requeue")
        guard case .runStart(let start) = logs[1].records.first else { Issue.record("no run start"); return }
        #expect(start.attempt == 2)
        let steps = logs.flatMap { $0.rows.map(\.step) }
        #expect(steps == Array(0..<100) + Array(50..<150), "repeated steps are kept")
        #expect(try run.status().0 == .finished)
    }

    @Test func anAttemptInUseOrARunThatMustNotExistIsRefused() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(id: "taken", root: dir.path, options: testOptions())
        defer { run.finish() }
        #expect(throws: RunError.self) { try Run(id: "taken", root: dir.path, attempt: 1, options: testOptions()) }
        #expect(throws: RunError.self) { try Run(id: "taken", root: dir.path, resume: .never, options: testOptions()) }
        #expect(throws: RunError.self) { try Run(id: "absent", root: dir.path, resume: .must, options: testOptions()) }
        #expect(try run.directory!.segments().count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/absent"))
    }

    @Test func ranksWriteTheirOwnLogs() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let r0 = try Run(id: "dist", root: dir.path, rank: 0, options: testOptions())
        let r1 = try Run(id: "dist", root: dir.path, rank: 1, options: testOptions())
        #expect(r0.attempt == 1 && r1.attempt == 1)
        r0.log(["x": 0])
        r1.log(["x": 1])
        r0.finish()
        #expect(try r0.directory!.status().0 == .running, "rank 1 is still running")
        r1.finish()
        #expect(try r0.directory!.status().0 == .finished)
        #expect(try r0.directory!.segments().map(\.name.fileName) == ["a0001-r0000-s0000.rlog", "a0001-r0001-s0000.rlog"])
    }

    @Test func aCheckpointSavedAgainAtTheSameStepNeverReplacesTheFirst() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let file = URL(fileURLWithPath: dir.path + "/model.bin")
        try Data([1, 2, 3]).write(to: file)
        let first = try Run(id: "ckpt", root: dir.path, options: testOptions())
        let a = try #require(try first.saveCheckpoint(name: "best", file: file, step: 5))
        first.finish(status: .killed)
        try Data([4, 5, 6, 7]).write(to: file)
        let second = try Run(id: "ckpt", root: dir.path, options: testOptions())
        let b = try #require(try second.saveCheckpoint(name: "best", file: file, step: 5))
        let c = try #require(try second.saveCheckpoint(name: "best", file: file, step: 5))
        second.finish()
        #expect([a.path, b.path, c.path] == ["checkpoints/best/5-model.bin", "checkpoints/best/5.1-model.bin", "checkpoints/best/5.2-model.bin"])
        let run = second.directory!.path
        #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/" + a.path)) == Data([1, 2, 3]))
        #expect(try Data(contentsOf: URL(fileURLWithPath: run + "/" + b.path)) == Data([4, 5, 6, 7]))
        #expect(a.sha256 == SHA256Hasher.hash([1, 2, 3]) && b.sha256 == SHA256Hasher.hash([4, 5, 6, 7]) && b.size == 4)
    }
}
