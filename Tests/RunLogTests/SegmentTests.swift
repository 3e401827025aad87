// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

@Suite struct SegmentTests {
    /// With a segment size, a long run is a series of logs s0000, s0001, …
    /// each about that size, which read in order give every row once.
    @Test func aLongRunContinuesInNumberedSegmentsOfBoundedSize() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.segmentBytes = 64 << 10
        options.frameTarget = 16 << 10
        let run = try Run(project: "long", id: "segmented", root: dir.path, options: options)
        let k = run.keys("loss", "lr", "noise")
        var random = SystemRandomNumberGenerator()
        for step in Int64(0)..<60_000 {
            run.log(k, Double(step), 1.0 / Double(step + 1), Double.random(in: 0..<1, using: &random), step: step)
        }
        #expect(run.finish(exitCode: 0))

        let directory = try #require(run.directory)
        let segments = try directory.segments()
        #expect(segments.count >= 4, "\(segments.map(\.name.fileName))")
        #expect(segments.map(\.name.segment) == (0..<UInt64(segments.count)).map { $0 })
        #expect(run.logPath == segments.last?.path)
        let logs = try readRun(directory)
        var rows: [Int64] = []
        for (i, log) in logs.enumerated() {
            #expect(log.header.segment == UInt64(i) && log.header.attempt == 1)
            #expect(log.damage.isEmpty && log.tail == nil)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: segments[i].path)[.size] as? NSNumber).int64Value
            #expect(size < (64 << 10) + (20 << 10), "segment \(i): \(size) bytes")
            // Only the last segment may hold the run end.
            #expect(log.records.contains { $0.kindName == "run_end" } == (i == logs.count - 1))
            rows += log.rows.map(\.step)
        }
        #expect(rows == Array(0..<60_000))
        #expect(try directory.status().0 == .finished)
    }

    /// A writer killed while it moves from segment to segment leaves logs that
    /// read back to the last flush, in order, without damage.
    @Test(arguments: 1...3) func killNineAcrossSegmentsKeepsEverythingFlushed(iteration: Int) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let child = try Child(["logger", dir.path, "seg\(iteration)"], environment: ["RUNLOG_TESTWRITER_SEGMENT_BYTES": "2048"])
        var lastFlushed: Int64 = -1
        for _ in 0..<Int.random(in: 5...10) {
            guard let line = child.readLine(), let step = Int64(line) else { break }
            lastFlushed = step
        }
        usleep(UInt32.random(in: 0...20_000))
        child.kill9()
        let run = RunDirectory(path: dir.path + "/seg\(iteration)")
        #expect(try run.status().0 == .crashed)
        let segments = try run.segments()
        #expect(segments.count >= 2)
        #expect(segments.map(\.name.segment) == (0..<UInt64(segments.count)).map { $0 })
        var steps: [Int64] = []
        for log in try readRun(run) {
            #expect(log.damage.isEmpty)
            steps += log.rows.map(\.step)
        }
        #expect(steps.count >= Int(lastFlushed) + 1)
        #expect(steps == Array(0..<Int64(steps.count)))
    }
}
