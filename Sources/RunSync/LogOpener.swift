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
        let name = segment.name.fileName
        let size = RunSyncer.fileSize(segment.path)
        if cursor.record == 0, cursor.item == 0, size <= cursor.offset { return nil }
        if tails[name] == size { return nil }
        let reader: LogReader
        do {
            reader = try LogReader(path: segment.path, from: cursor.offset)
        } catch {
            if (error as? FormatError)?.code != .headerIncomplete, reported.insert(name).inserted {
                logger.error("\(segment.path): skipped: \(error)")
            }
            tails[name] = size
            return nil
        }
        reader.onDamage = { d in logger.warning("\(segment.path): damaged: \(d)") }
        return reader
    }

    /// `segment` holds nothing more to read at its present size.
    func sawTail(_ segment: RunDirectory.Segment) {
        tails[segment.name.fileName] = RunSyncer.fileSize(segment.path)
    }
}
