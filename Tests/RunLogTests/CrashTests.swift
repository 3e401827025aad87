// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct CrashTests {
    /// A logging process is killed with SIGKILL at a random moment after it
    /// reported a flush; the run reads as crashed and every row up to the
    /// last flush is there, correct, exactly once.
    @Test(arguments: 1...4) func killNineKeepsEverythingFlushed(iteration: Int) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let child = try Child(["logger", dir.path, "crash\(iteration)"])
        var lastFlushed: Int64 = -1
        let flushes = Int.random(in: 1...6)
        for _ in 0..<flushes {
            guard let line = child.readLine(), let step = Int64(line) else { break }
            lastFlushed = step
        }
        usleep(UInt32.random(in: 0...30_000))
        child.kill9()
        #expect(lastFlushed >= 999)

        let run = RunDirectory(path: dir.path + "/crash\(iteration)")
        let (status, ranks) = try run.status()
        #expect(status == .crashed)
        #expect(ranks.first?.reason.contains("gone") == true)
        let log = try ReadLog(path: run.logsPath + "/a0001-r0000-s0000.rlog")
        #expect(log.damage.isEmpty)
        #expect(!log.records.contains { $0.kind == 8 }, "a killed process writes no run end")
        let rows = log.rows
        #expect(rows.count >= Int(lastFlushed) + 1)
        for (i, row) in rows.enumerated() {
            #expect(row.step == Int64(i))
            #expect(row.values == ["a": Double(i), "b": Double(i) / 2])
        }
    }

    /// SIGTERM, as a scheduler sends it: the run ends as killed with
    /// everything logged before, and the process still ends by SIGTERM.
    @Test func sigtermFinishesTheRunAsKilledAndTheProcessStillEndsBySIGTERM() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let child = try Child(["logger", dir.path, "preempted"], environment: ["RUNLOG_TESTWRITER_SAY_LOGGED": "1"])
        // Wait for a flush and then for rows logged past it, so that some rows are pending when the signal comes.
        var lastFlushed: Int64 = -1, lastLogged: Int64 = -1
        while lastLogged <= lastFlushed, let line = child.readLine() {
            if let step = Int64(line) { lastFlushed = step }
            else if line.hasPrefix("logged "), let step = Int64(line.dropFirst(7)), lastFlushed >= 0 { lastLogged = step }
        }
        try #require(lastLogged > lastFlushed, "the child did not report rows logged past a flush")
        kill(child.process.processIdentifier, SIGTERM)
        try #require(child.waitForExit(), "still running 60 s after SIGTERM")
        #expect(child.process.terminationReason == .uncaughtSignal && child.process.terminationStatus == SIGTERM)

        let run = RunDirectory(path: dir.path + "/preempted")
        #expect(try run.status().0 == .killed)
        #expect(!FileManager.default.fileExists(atPath: run.livePath(attempt: 1, rank: 0)))
        let log = try ReadLog(path: run.logsPath + "/a0001-r0000-s0000.rlog")
        #expect(log.damage.isEmpty && log.tail == nil)
        guard case .runEnd(let end)? = log.records.last else {
            Issue.record("the last record is not a run end: \(String(describing: log.records.last))")
            return
        }
        #expect(end.status == .killed && end.exitCode == 143 && end.message == "SIGTERM")
        // Rows logged after the last flush were written too: every row, in order, once.
        let rows = log.rows
        #expect(rows.count > Int(lastLogged))
        #expect(rows.enumerated().allSatisfy { i, row in row.step == Int64(i) && row.values == ["a": Double(i), "b": Double(i) / 2] })
    }

    @Test func aProgramWithItsOwnSIGTERMHandlerKeepsIt() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let child = try Child(["logger", dir.path, "own"], environment: ["RUNLOG_TESTWRITER_OWN_SIGTERM": "1"])
        _ = child.readLine()
        kill(child.process.processIdentifier, SIGTERM)
        try #require(child.waitForExit(), "still running 60 s after SIGTERM")
        var last = ""
        while let line = child.readLine() { last = line }
        #expect(child.process.terminationReason == .exit && child.process.terminationStatus == 3 && last == "stopped")
        let log = try ReadLog(path: RunDirectory(path: dir.path + "/own").logsPath + "/a0001-r0000-s0000.rlog")
        guard case .runEnd(let end)? = log.records.last else {
            Issue.record("the last record is not a run end")
            return
        }
        #expect(end.status == .killed && end.message == "own handler")
    }

    @Test func aChildThatFinishesReadsAsFinished() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let child = try Child(["logger", dir.path, "done", "2500"])
        var last = ""
        while let line = child.readLine() { last = line }
        child.process.waitUntilExit()
        #expect(child.process.terminationStatus == 0)
        #expect(last == "finished 2500")
        let run = RunDirectory(path: dir.path + "/done")
        #expect(try run.status().0 == .finished)
        #expect(try ReadLog(path: try run.segments()[0].path).rows.count == 2500)
    }

    @Test func disabledByEnvironmentCreatesNothing() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let child = try Child(["logger", dir.path, "off", "3000"], environment: ["RUNLOG_MODE": "disabled"])
        var last = ""
        while let line = child.readLine() { last = line }
        child.process.waitUntilExit()
        #expect(child.process.terminationStatus == 0 && last == "finished 3000")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
