// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

@Suite struct ConcurrencyTests {
    /// Eight threads log 20,000 rows each, half through registered keys and
    /// half through dictionaries, with a small memory cap so that callers
    /// wait for the writer; every row must come back exactly once with its values.
    @Test func manyThreadsLoggingLoseAndDuplicateNothing() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.memoryCap = 1 << 20
        let run = try Run(id: "threads", root: dir.path, options: options)
        let threads = 8
        let perThread = 20_000
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let k = run.keys("thread", "i", "t\(t)")
            for i in 0..<perThread {
                let step = Int64(t * perThread + i)
                if i % 2 == 0 {
                    run.log(k, Double(t), Double(i), Double(i) * 0.5, step: step)
                } else {
                    run.log(["thread": Double(t), "i": Double(i), "t\(t)": Double(i) * 0.5], step: step)
                }
                if i % 5000 == 0 { run.summary["progress/t\(t)"] = .int(Int64(i)) }
            }
        }
        #expect(run.finish())
        #expect(run.stats.droppedRows == 0)
        let rows = try readRun(run.directory!)[0].rows
        #expect(rows.count == threads * perThread)
        var seen = Set<Int64>()
        var perThreadOrder = [Int](repeating: -1, count: threads)
        for row in rows {
            #expect(seen.insert(row.step).inserted, "step \(row.step) appears twice")
            let t = Int(row.values["thread"] ?? -1)
            let i = Int(row.values["i"] ?? -1)
            #expect(row.step == Int64(t * perThread + i))
            #expect(row.values["t\(t)"] == Double(i) * 0.5 && row.values.count == 3)
            if (0..<threads).contains(t) {
                #expect(i > perThreadOrder[t], "rows of one thread keep their order")
                perThreadOrder[t] = i
            }
        }
        #expect(seen.count == threads * perThread)
    }

    /// `finish` from one thread (as on SIGTERM) while others keep logging:
    /// the run end is the last record, whatever the timing.
    @Test(arguments: 1...20) func theRunEndStaysLastWhileOtherThreadsKeepLogging(iteration: Int) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(id: "race\(iteration)", root: dir.path, options: testOptions())
        let started = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for t in 0..<3 {
            DispatchQueue.global().async(group: done) {
                let k = run.keys("t\(t)")
                started.signal()
                for i in 0..<200_000 { run.log(k, Double(i), step: Int64(i)) }
            }
        }
        for _ in 0..<3 { started.wait() }
        usleep(UInt32(iteration * 500))
        #expect(run.finish(status: .killed, exitCode: 143, message: "SIGTERM"))
        done.wait()
        let log = try readRun(run.directory!)[0]
        guard case .runEnd(let end)? = log.records.last else {
            Issue.record("the last record is \(String(describing: log.records.last?.kindName))")
            return
        }
        #expect(end.status == .killed)
    }

    @Test func flushFromManyThreadsReturnsWithTheirRowsDurable() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.writeInterval = 30  // only flush() can make rows reach the file
        options.sync = .never
        let run = try Run(id: "flushes", root: dir.path, options: options)
        defer { run.finish() }
        let path = run.logPath!
        let missing = Counter()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for i in 0..<50 {
                run.log(["t\(t)": Double(i)], step: Int64(i))
                try! run.flush()
                // On return, this thread's row is in the file, whatever the others do.
                let rows = (try? ReadLog(path: path).rows) ?? []
                if !rows.contains(where: { $0.step == Int64(i) && $0.values["t\(t)"] == Double(i) }) {
                    missing.add()
                }
            }
        }
        #expect(missing.value == 0, "\(missing.value) flushes returned before their row was in the file")
        let rows = try ReadLog(path: path).rows
        #expect(rows.count == 200)
        #expect(run.stats.durable == run.stats.logged)
    }
}

/// A count shared by threads.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
