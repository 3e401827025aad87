// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import RunLog
import Testing

/// Records, in order, what the writer thread asks of the real sink.
final class SinkRecorder: FrameSink, @unchecked Sendable {
    enum Call: Equatable {
        case append(frames: Int)
        case sync
    }

    private let lock = NSLock()
    private var inner: FrameSink?
    private var recorded: [Call] = []

    func wrap(_ sink: FrameSink) -> FrameSink {
        lock.withLock { inner = sink }
        return self
    }

    var calls: [Call] { lock.withLock { recorded } }
    var path: String { lock.withLock { inner!.path } }

    func appendFrames(_ frames: ArraySlice<[UInt8]>) throws -> Int {
        let n = try lock.withLock { inner! }.appendFrames(frames)
        lock.withLock { recorded.append(.append(frames: n)) }
        return n
    }

    func sync() throws {
        try lock.withLock { inner! }.sync()
        lock.withLock { recorded.append(.sync) }
    }

    func close() throws { try lock.withLock { inner! }.close() }
}

@Suite struct AppendRuleTests {
    /// The append rule (spec/format.md §5): whatever the sync policy, the
    /// writer never appends past a write that is not synced yet, so a crash
    /// loses at most the last write (a tail), never one before a kept frame.
    /// The frames of a cycle share one write, so the rule costs at most one
    /// fsync per cycle.
    @Test(arguments: [RunOptions.Sync.interval(2), .never, .everyFrame])
    func theWriterSyncsBeforeAppendingPastAnUnsyncedWrite(policy: RunOptions.Sync) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let recorder = SinkRecorder()
        var options = testOptions()
        options.sync = policy
        options.writeInterval = 0.02
        options.frameTarget = 1024
        options.systemMetricsInterval = 0
        options.recordsEnvironment = false
        options.sinkWrapper = { recorder.wrap($0) }
        let run = try Run(project: "rule", id: "rule", root: dir.path, options: options)
        let k = run.keys("a", "b", "c")
        for step in Int64(0)..<20_000 {
            run.log(k, Double(step), Double(step) / 2, Double(step % 7), step: step)
            if step % 2_000 == 0 { usleep(30_000) }  // let cycles pass: several writes
        }
        #expect(run.finish(exitCode: 0))

        let calls = recorder.calls
        let appends = calls.compactMap { if case .append(let n) = $0 { n } else { nil } }
        #expect(appends.count >= 5, "\(calls)")
        #expect(appends.reduce(0, +) > 2 * appends.count, "the frames of a cycle share a write: \(appends)")
        var unsynced = false
        var pastUnsynced = 0
        for call in calls {
            if call == .sync {
                unsynced = false
            } else {
                pastUnsynced += unsynced ? 1 : 0
                unsynced = true
            }
        }
        #expect(pastUnsynced == 0, "\(calls)")
        #expect(calls.last == .sync)

        let logs = try readRun(try #require(run.directory))
        #expect(logs.count == 1 && logs[0].damage.isEmpty && logs[0].tail == nil)
        #expect(logs.first?.rows.map(\.step) == Array(0..<20_000))
    }
}
