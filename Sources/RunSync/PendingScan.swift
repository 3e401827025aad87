// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

/// What of a run's logs is not in MLflow yet, read from its saved cursors:
/// metric points, records and bytes, and the time of the oldest point.
public struct PendingScan: Sendable, Equatable {
    /// Metric points not yet acknowledged by MLflow.
    public var points = 0
    /// Records not yet wholly acknowledged (a metrics record is a block of rows).
    public var records = 0
    /// Bytes of the logs after the cursors (a torn tail of a crashed writer counts).
    public var bytes: Int64 = 0
    /// The logged time of the oldest unsent point, in microseconds since the epoch.
    public var oldestPointTime: Int64?

    public init() {}

    /// Reads every log of `directory` from the cursors of `state` (from the start without one).
    public init(_ directory: RunDirectory, state: RunState?) {
        for segment in (try? directory.segments()) ?? [] {
            let cursor = state?.segments[segment.name.fileName] ?? RunState.Cursor(offset: 0)
            let size = RunSyncer.fileSize(segment.path)
            guard size > cursor.offset || cursor.record > 0 else { continue }
            guard let reader = try? LogReader(path: segment.path, from: cursor.offset) else {
                bytes += max(0, size - cursor.offset)
                continue
            }
            var first = true
            while let frame = try? reader.next() {
                let resume = first && frame.offset == cursor.offset
                first = false
                for (index, record) in frame.records.enumerated() {
                    if resume && index < cursor.record { continue }
                    let done = resume && index == cursor.record ? cursor.item : 0
                    if case .metrics(let block) = record { add(block, skipping: done) }
                    records += 1
                }
            }
            bytes += max(0, reader.offset - max(cursor.offset, Int64(reader.headerSize)))
        }
    }

    /// Counts the points of `block` after its first `done` (rows in order, keys in key-table order).
    private mutating func add(_ block: MetricsBlock, skipping done: Int) {
        var seen = 0
        for row in 0..<block.rowCount {
            let n = block.columns.reduce(0) { $0 + ($1.has(row: row) ? 1 : 0) }
            let sent = min(n, max(0, done - seen))
            seen += n
            guard n > sent else { continue }
            points += n - sent
            oldestPointTime = min(oldestPointTime ?? block.times[row], block.times[row])
        }
    }
}
