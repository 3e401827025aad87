// SPDX-License-Identifier: Apache-2.0
import Logging
import RunLayout

/// Opens a run's logs where a delivery's cursor stands, and remembers the
/// logs that end in a tail (a frame not complete yet, damage) so that they
/// are not read again until they grow.
final class LogOpener {
    private var tails: [String: Int64] = [:]
    private var reported: Set<String> = []

    /// A reader of `segment` from `cursor`'s frame, or nil when nothing new
    /// can be read there (all of it done, a tail seen at this size, a log
    /// that cannot be opened, reported once).
    func open(_ segment: RunDirectory.Segment, at cursor: RunState.Cursor, logger: Logger) -> LogReader? {
        open(name: segment.name.fileName, path: segment.path, at: cursor, logger: logger)
    }

    /// A reader of the log `name` at `path` (a segment or a console log) from `cursor`'s frame, as `open(_:at:logger:)`.
    func open(name: String, path: String, at cursor: RunState.Cursor, logger: Logger) -> LogReader? {
        let size = RunSyncer.fileSize(path)
        if cursor.record == 0, cursor.item == 0, size <= cursor.offset { return nil }
        if tails[name] == size { return nil }
        let reader: LogReader
        do {
            reader = try LogReader(path: path, from: cursor.offset)
        } catch {
            if (error as? FormatError)?.code != .headerIncomplete, reported.insert(name).inserted {
                logger.error("\(path): skipped: \(error)")
            }
            tails[name] = size
            return nil
        }
        reader.onDamage = { d in logger.warning("\(path): damaged: \(d)") }
        return reader
    }

    /// `segment` holds nothing more to read at its present size.
    func sawTail(_ segment: RunDirectory.Segment) {
        sawTail(name: segment.name.fileName, path: segment.path)
    }

    /// The log `name` at `path` holds nothing more to read at its present size.
    func sawTail(name: String, path: String) {
        tails[name] = RunSyncer.fileSize(path)
    }
}
