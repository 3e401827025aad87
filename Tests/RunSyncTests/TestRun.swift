// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync

/// A run directory written by a test with `LogWriter`, following
/// spec/run-directory.md: logs under `logs/`, a liveness file for this
/// process while "running", checkpoint files under `checkpoints/`.
final class TestRun {
    let root: String
    let id: String
    let attempt: UInt64
    let rank: UInt64
    private(set) var writer: LogWriter
    private(set) var records: [Record] = []
    var path: String { root + "/" + id }
    var logPath: String { writer.path }

    static func makeRoot(_ name: String = #function) -> String {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        let root = TestFiles.root + "/\(clean)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return root
    }

    /// Creates the log of `attempt`/`rank` and writes its run start.
    init(root: String, id: String, project: String, name: String = "", attempt: UInt64 = 1, rank: UInt64 = 0,
         live: Bool = true, tags: [String] = [], start: Int64 = 1_764_000_000_000_000, host: String = Host.name) throws {
        self.root = root
        self.id = id
        self.attempt = attempt
        self.rank = rank
        let logs = root + "/" + id + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        if live {
            let liveFile = LiveFile.current(locked: false, heartbeatInterval: 5)
            try liveFile.encoded().write(to: URL(fileURLWithPath: logs + "/" + SegmentName.liveFileName(attempt: attempt, rank: rank)))
        }
        let segment = SegmentName(attempt: attempt, rank: rank, segment: 0)
        writer = try LogWriter(creating: logs + "/" + segment.fileName,
                               header: FileHeader(runID: id, attempt: attempt, rank: rank, created: start, writer: "runlog-tests/1"))
        var s = RunStart(runID: id)
        s.project = project
        s.name = name.isEmpty ? "run \(id)" : name
        s.host = host
        s.startTime = start
        s.attempt = attempt
        s.rank = rank
        s.tags = tags
        try append([.runStart(s)])
    }

    func append(_ rs: [Record]) throws {
        _ = try writer.append(rs)
        try writer.sync()
        records += rs
    }

    /// Metric rows `steps` of keys `keys`, values from `value(key, step)`, times 1 ms apart.
    func metrics(_ keys: [String], steps: Range<Int64>, base: Int64 = 1_764_000_000_000_000, value: (String, Int64) -> Double) throws {
        let times = steps.map { base + $0 * 1000 }
        let block = MetricsBlock(keys: keys, steps: Array(steps), times: times, values: keys.map { k in steps.map { value(k, $0) } })
        try append([.metrics(block)])
    }

    /// Copies `bytes` as a checkpoint file and writes its record.
    func checkpoint(name: String, step: Int64, file: String, bytes: [UInt8], aliases: [String] = []) throws {
        let rel = "checkpoints/\(name)/\(step)-\(file)"
        try FileManager.default.createDirectory(atPath: path + "/checkpoints/" + name, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + rel))
        var c = Checkpoint(name: name, step: step, time: 1_764_000_000_000_000 + step, path: rel, size: UInt64(bytes.count), sha256: SHA256Hasher.hash(bytes))
        c.aliases = aliases
        try append([.checkpoint(c)])
    }

    /// Writes the run end and removes the liveness file.
    func end(_ status: RunEnd.Status = .finished, at time: Int64 = 1_764_000_100_000_000) throws {
        try append([.runEnd(RunEnd(status: status, endTime: time))])
        try writer.close()
        try? FileManager.default.removeItem(atPath: path + "/logs/" + SegmentName.liveFileName(attempt: attempt, rank: rank))
    }

    /// Leaves the run as a crashed writer would: no run end, a liveness file of a dead process.
    func crash() throws {
        try writer.close()
        var live = LiveFile.current(locked: false, heartbeatInterval: 5)
        live.pid = 999_999
        live.pidStart = 1
        try live.encoded().write(to: URL(fileURLWithPath: path + "/logs/" + SegmentName.liveFileName(attempt: attempt, rank: rank)))
    }
}
