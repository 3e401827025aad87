// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLogFormat

/// Where the writer thread puts frames: the attempt's log file.
///
/// It exists so that tests can put a fault injector between the writer and
/// the real file (`RunOptions.sinkWrapper`) where no small file system can be
/// mounted to fill up for real.
protocol FrameSink: AnyObject {
    /// The log's path, for messages.
    var path: String { get }
    /// Appends the first one or more of `frames` (at least one) with one
    /// `write` and returns how many; on failure the file is as it was before.
    func appendFrames(_ frames: ArraySlice<[UInt8]>) throws -> Int
    /// Makes everything appended durable.
    func sync() throws
    /// Syncs and closes.
    func close() throws
}

/// The real sink: the attempt's log through a `LogWriter`, which cuts a
/// partly written frame back.
///
/// With a segment size, a log that has reached it is synced and closed before
/// the next frame, which goes to the next segment (spec/run-directory.md §2):
/// a log may exceed the size by one frame, and one write never spans two
/// logs. If syncing the full log or creating the next one fails, the frame is
/// not written and the next call tries again.
final class LogFileSink: FrameSink, @unchecked Sendable {
    private let lock = NSLock()
    private var writer: LogWriter
    private let segmentBytes: Int64?
    private let nextSegment: (UInt64) throws -> LogWriter
    private var framesInSegment = 0
    /// The current log is synced and closed; the next one is not created yet.
    private var full = false

    init(_ writer: LogWriter, segmentBytes: Int64? = nil, nextSegment: @escaping (UInt64) throws -> LogWriter = { _ in
        throw RunError(.io, "no next segment")
    }) {
        self.writer = writer
        self.segmentBytes = segmentBytes
        self.nextSegment = nextSegment
    }

    /// The log written now (read from any thread).
    var path: String { lock.withLock { writer.path } }

    /// Frame bytes written with one `write` at most.
    static let writeBytes = 16 << 20

    func appendFrames(_ frames: ArraySlice<[UInt8]>) throws -> Int {
        if let limit = segmentBytes, framesInSegment > 0, writer.size >= limit {
            if !full {
                try writer.sync()
                try writer.close()
                full = true
            }
            let next = try nextSegment(writer.header.segment + 1)
            lock.withLock { writer = next }
            full = false
            framesInSegment = 0
        }
        let limit = segmentBytes ?? .max
        var end = frames.startIndex
        var size = writer.size
        var bytes = 0
        repeat {
            size += Int64(frames[end].count)
            bytes += frames[end].count
            end += 1
        } while end < frames.endIndex && size < limit && bytes + frames[end].count <= Self.writeBytes
        try writer.appendFrames(frames[..<end])
        framesInSegment += end - frames.startIndex
        return end - frames.startIndex
    }

    func sync() throws {
        if !full { try writer.sync() }
    }

    func close() throws {
        if !full { try writer.close() }
    }
}
