// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog

/// Logs and run directories written with the format library, with known contents.
enum Fixtures {
    static let t0: Int64 = 1_764_171_652_000_000

    static func header(_ id: String, attempt: UInt64 = 1, rank: UInt64 = 0, segment: UInt64 = 0) -> FileHeader {
        FileHeader(runID: id, attempt: attempt, rank: rank, segment: segment, created: t0, writer: "fixtures/1")
    }

    static func runStart(_ id: String, project: String = "mnist", name: String = "cnn") -> RunStart {
        var s = RunStart(runID: id)
        s.project = project
        s.name = name
        s.host = "node1"
        s.pid = 7
        s.startTime = t0
        s.writer = "fixtures/1"
        return s
    }

    /// `rows` rows of loss (2 / (1 + step)) and accuracy (step / rows), from `first`, `perBlock` rows per block.
    static func metrics(rows: Int, first: Int = 0, perBlock: Int = 1000) -> [Record] {
        var out: [Record] = []
        var b = MetricsBlock.Builder()
        for i in first..<(first + rows) {
            b.append(step: Int64(i), time: t0 + Int64(i) * 1000, values: [("loss", loss(i)), ("accuracy", accuracy(i, rows))])
            if b.rowCount == perBlock { out.append(.metrics(b.build()!)) }
        }
        if let last = b.build() { out.append(.metrics(last)) }
        return out
    }

    static func loss(_ step: Int) -> Double { 2 / (1 + Double(step)) }
    static func accuracy(_ step: Int, _ rows: Int) -> Double { Double(step) / Double(rows) }

    /// Writes a log with one frame per element of `frames`.
    @discardableResult
    static func writeLog(_ path: String, header: FileHeader, frames: [[Record]]) throws -> LogWriter {
        let w = try LogWriter(creating: path, header: header)
        for f in frames { try w.append(f) }
        try w.sync()
        return w
    }

    /// Creates `root/id/logs/a0001-r0000-s0000.rlog` holding `frames`; returns the run directory.
    @discardableResult
    static func makeRun(root: String, id: String, frames: [[Record]], attempt: UInt64 = 1) throws -> String {
        let run = root + "/" + id
        try FileManager.default.createDirectory(atPath: run + "/logs", withIntermediateDirectories: true)
        let name = SegmentName(attempt: attempt, rank: 0, segment: 0).fileName
        try writeLog(run + "/logs/" + name, header: header(id, attempt: attempt), frames: frames)
        return run
    }

    static func runEnd(_ status: RunEnd.Status, at step: Int64 = 0) -> Record {
        .runEnd(RunEnd(status: status, exitCode: status == .finished ? 0 : 1, endTime: t0 + 9_000_000, message: status == .failed ? "boom" : ""))
    }

    /// Sets the modification time of every file under `path` to `seconds` since the epoch.
    static func touchAll(_ path: String, seconds: Int) throws {
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        let e = FileManager.default.enumerator(atPath: path)
        while let rel = e?.nextObject() as? String {
            try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path + "/" + rel)
        }
    }

    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
    static func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
}
