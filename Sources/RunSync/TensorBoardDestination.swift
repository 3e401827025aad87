// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout
import TensorBoardEvents

/// A TensorBoard log directory as a destination (`syncd --tensorboard DIR`):
/// each run and rank becomes a TensorBoard run under DIR, laid out and
/// mapped as `runlog export --tensorboard` does, written live.
///
/// A step reads from the saved cursors, appends the events of up to
/// `batchItems` items of one log to the rank's event file, `fsync`s it, and
/// saves the cursors with the file's new length in the same state. On
/// reopening (after a crash, a restart) each event file is cut to its saved
/// length: a torn event at its end, or events written but not acknowledged,
/// are removed, and the batch sent again writes the same bytes at the same
/// place (`TensorBoardRunWriter`). A full disk or another error that may
/// pass is retried on a later turn; one that will not (a directory that is
/// not writable) quarantines the run for this destination only. The ranks
/// of a run take turns (`RankTurns`), each writing its own event file.
struct TensorBoardDestination: Destination {
    static let name = "tensorboard"
    var name: String { Self.name }
    /// The log directory.
    let root: String

    func makeLink(pause: Pause) -> AnyObject { NSObject() }

    func delivery(for directory: RunDirectory, state: RunState, context: SyncContext) -> any RunDelivery {
        TensorBoardDelivery(directory: directory, root: root, state: state, context: context)
    }
}

final class TensorBoardDelivery: RunDelivery {
    /// Items (metric points, other records) per batch: one `fsync` each.
    static let batchItems = 20_000
    /// Seconds before a turn tries again after an error that may pass (a full disk).
    static let retryDelay = 5.0

    let directory: RunDirectory
    private(set) var state: RunState
    private let context: SyncContext
    private let writer: TensorBoardRunWriter
    private let logs = LogOpener()
    /// Which rank's logs are tried first at the next step.
    private var turns = RankTurns()

    init(directory: RunDirectory, root: String, state: RunState, context: SyncContext) {
        self.directory = directory
        self.state = state
        self.context = context
        writer = TensorBoardRunWriter(root: root, state: Self.writerState(state))
        writer.onClash = { [logger = context.logger] path, key in
            logger.warning("\(path): key \"\(key)\" is both a metric and a histogram: the later kind is written as \"\(key)/metric\" or \"\(key)/histogram\"")
        }
    }

    func step(_ link: AnyObject) throws(SyncError) -> DeliveryOutcome {
        do {
            return try unit()
        } catch where error.disposition == .quarantine {
            context.logger.error("run \(state.runID): TensorBoard: quarantined: \(error.message)")
            state.status = .quarantined
            state.lastError = error.message
            try save()
            return .quarantined
        }
    }

    func retryAfterQuarantine() {
        guard state.status == .quarantined else { return }
        state.status = .pending
    }

    private func unit() throws(SyncError) -> DeliveryOutcome {
        guard FileManager.default.fileExists(atPath: directory.logsPath) else { return .idle(recheck: nil) }
        let segments: [RunDirectory.Segment]
        let sources: [Log]
        do {
            segments = try directory.segments()
            sources = Log.all(segments, try directory.consoleLogs())
        } catch {
            throw SyncError(.io, "\(directory.logsPath): cannot list: \(error.localizedDescription)")
        }
        for log in turns.order(sources, rank: \.rank) {
            do {
                if let outcome = try advance(log) {
                    turns.sent(rank: log.rank)
                    return outcome
                }
            } catch let e as EventFileError where e.isTransient {
                let note = e.description + " (retrying)"
                if state.lastError != note {
                    context.logger.warning("run \(state.runID): TensorBoard: \(e.description); trying again in \(Int(Self.retryDelay)) s")
                    state.lastError = note
                    try save()
                }
                return .idle(recheck: Self.retryDelay)
            } catch let e as EventFileError {
                throw SyncError(.io, e.description)
            } catch let e as SyncError {
                throw e
            } catch {
                throw SyncError(.io, "\(log.path): \(error)")
            }
        }
        return try finish(segments, sources)
    }

    /// A log this destination reads: a segment, or a console log (console
    /// records only, written by the capture process of its attempt and rank).
    struct Log {
        var name: String
        var path: String
        var attempt: UInt64
        var rank: UInt64
        var isConsole: Bool

        /// The segments and console logs in reading order: by rank, each rank's
        /// segments (attempt, segment) before its console logs (attempt, number).
        static func all(_ segments: [RunDirectory.Segment], _ consoles: [RunDirectory.ConsoleLog]) -> [Log] {
            let logs = segments.map { Log(name: $0.name.fileName, path: $0.path, attempt: $0.name.attempt, rank: $0.name.rank, isConsole: false) }
                + consoles.map { Log(name: $0.name.fileName, path: $0.path, attempt: $0.name.attempt, rank: $0.name.rank, isConsole: true) }
            return logs.sorted { ($0.rank, $0.isConsole ? 1 : 0, $0.attempt, $0.name) < ($1.rank, $1.isConsole ? 1 : 0, $1.attempt, $1.name) }
        }
    }

    /// Delivers the next batch of `log`, or nil when it is all delivered. A
    /// console log waits until its rank's event file exists (named by the
    /// rank's run start, in its segments).
    private func advance(_ log: Log) throws -> DeliveryOutcome? {
        let name = log.name
        if log.isConsole && state.eventFiles[String(log.rank)] == nil { return nil }
        var cursor = state.segments[name] ?? RunState.Cursor(offset: 0)
        guard let reader = logs.open(name: name, path: log.path, at: cursor, logger: context.logger) else { return nil }
        var start = RunStart(runID: state.runID)
        start.startTime = reader.header.created
        var budget = Self.batchItems
        var added = 0
        frames: while budget > 0, let frame = try reader.next() {
            if frame.offset != cursor.offset { cursor = RunState.Cursor(offset: frame.offset) }
            while cursor.record < frame.records.count {
                let record = frame.records[cursor.record]
                if case .runStart(let s) = record { start = s }
                let n = try writer.add(record, rank: log.rank, start: start, from: cursor.item, limit: budget)
                cursor.item += n
                budget -= n
                added += n
                if cursor.item < EventMapper.itemCount(record) { break frames }
                if case .runEnd(let e) = record {
                    state.ends["\(log.attempt)/\(log.rank)"] = .init(status: e.status.description, endTime: e.endTime)
                }
                cursor.record += 1
                cursor.item = 0
            }
            cursor = RunState.Cursor(offset: frame.end)
        }
        if added == 0 && cursor == state.segments[name] ?? RunState.Cursor(offset: 0) {
            logs.sawTail(name: name, path: log.path)
            return nil
        }
        let written = try writer.commit()
        context.countSent(points: added)
        Self.store(written, in: &state)
        state.segments[name] = cursor
        state.status = .pending
        state.lastError = nil
        try save()
        return .more
    }

    /// Everything is read: the state says synced, with the run's status.
    private func finish(_ segments: [RunDirectory.Segment], _ logs: [Log]) throws(SyncError) -> DeliveryOutcome {
        guard let (status, latest, _) = RunSyncer.status(of: segments, in: directory, ends: state.ends, context: context) else {
            return .idle(recheck: nil)
        }
        let wanted = RunSyncer.statusWord(status)
        let pending = logs.reduce(Int64(0)) { sum, log in
            sum + RunSyncer.unreadBytes(log.name, at: log.path, state: state)
        }
        if state.status != .synced || state.pendingBytes != pending || state.lastError != nil || state.sentStatus != wanted
            || state.sentAttempt != latest
        {
            state.status = .synced
            state.pendingBytes = pending
            state.lastError = nil
            state.sentStatus = wanted
            state.sentAttempt = latest
            try save()
        }
        return .idle(recheck: status == .running ? context.recheckInterval : nil)
    }

    private func save() throws(SyncError) {
        try context.store.save(&state)
    }

    static func writerState(_ state: RunState) -> TensorBoardRunState {
        var s = TensorBoardRunState()
        for (rank, f) in state.eventFiles {
            var c = EventMapper.Context(step: f.step, time: f.time)
            c.metricKeys = Set(f.metricKeys)
            c.histogramKeys = Set(f.histogramKeys)
            s.ranks[rank] = TensorBoardRunState.RankFile(directory: f.directory, file: f.file, length: f.length, context: c)
        }
        return s
    }

    static func store(_ s: TensorBoardRunState, in state: inout RunState) {
        for (rank, f) in s.ranks {
            state.eventFiles[rank] = RunState.EventFile(
                directory: f.directory, file: f.file, length: f.length, step: f.context.step, time: f.context.time,
                metricKeys: f.context.metricKeys.sorted(), histogramKeys: f.context.histogramKeys.sorted())
        }
    }
}
