// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RunLayout

/// Delivers one run directory to its MLflow run, one request per `step`:
/// the `RunDelivery` of `MLflowDestination`.
///
/// Every step reads from the saved cursors, sends one request (a log-batch
/// of at most 1000 items, an artifact, or a status change), and moves the
/// cursors past what MLflow acknowledged, saving the state before the next
/// step. A crash at any instant therefore re-sends at most the one request
/// that was in flight, with the same points (MLflow stores an identical
/// point once). Only one worker steps a given syncer at a time. The first
/// config of a syncer's life also reads the params MLflow holds, once, so
/// that a config whose values it already has sends nothing.
///
/// The ranks of a run take turns (`RankTurns`): while several have
/// something to send, each step sends from the rank after the one that
/// sent last, so that a backlog of rank 0 does not hold back the points of
/// rank 1.
final class RunSyncer: RunDelivery {
    typealias Outcome = DeliveryOutcome

    let directory: RunDirectory
    private(set) var state: RunState
    private let context: SyncContext
    /// MLflow's params of the run, fetched once when a config is first sent.
    private var params: [String: String]?
    private let logs = LogOpener()
    /// Whether "syncing" was logged and "complete" is still to come.
    private var announced = false
    /// Metric points acknowledged since "syncing" was logged.
    private var pointsSent = 0
    private let console = ConsoleSync()
    private let files = RunFiles()
    private let pictures = HistogramPictures()
    /// Checkpoint paths retired by their writer, as last read from the logs.
    private var retired: Set<String> = []
    /// Which rank's logs are tried first at the next step.
    private var turns = RankTurns()

    init(directory: RunDirectory, state: RunState, context: SyncContext) {
        self.directory = directory
        self.state = state
        self.context = context
    }

    var logger: Logger { context.logger }

    /// Does one unit of work. An error whose disposition is `.quarantine`
    /// quarantines the run; only fatal errors and `.cancelled` are thrown.
    func step(_ link: AnyObject) throws(SyncError) -> Outcome {
        let client = link as! MLflowClient
        client.onRetry = { [self] error in noteRetry(error) }
        defer { client.onRetry = nil }
        do {
            return try unit(client)
        } catch where error.disposition == .quarantine {
            logger.error("run \(state.runID) quarantined: \(error.message)")
            state.status = .quarantined
            state.lastError = error.message
            try save()
            return .quarantined
        }
    }

    /// Keeps the error of a request being retried in the state, for `syncd
    /// status` to show while MLflow does not answer; the next acknowledged
    /// request clears it.
    private func noteRetry(_ error: SyncError) {
        let note = error.message + " (retrying)"
        guard state.lastError != note else { return }
        state.lastError = note
        try? save()
    }

    /// Runs `body` on a copy of the state and keeps what it changed. A
    /// request in `body` that is retried calls `noteRetry`, which writes and
    /// saves `state`: an `inout` access to `state` held across the request
    /// would overlap that one (a fatal exclusivity violation).
    private func lending<T>(_ body: (inout RunState) throws(SyncError) -> T) throws(SyncError) -> T {
        var lent = state
        defer {
            let note = state.lastError
            state = lent
            state.lastError = note
        }
        return try body(&lent)
    }

    /// Makes a quarantined run pending again, for its next turn to try anew.
    func retryAfterQuarantine() {
        guard state.status == .quarantined else { return }
        logger.notice("run \(state.runID): was quarantined (\(state.lastError ?? "")); trying again")
        state.status = .pending
    }

    private func unit(_ client: MLflowClient) throws(SyncError) -> Outcome {
        // A run directory deleted (or moved) since: nothing more to send from here.
        guard FileManager.default.fileExists(atPath: directory.logsPath) else { return try directoryGone(client) }
        goneSince = nil
        let segments: [RunDirectory.Segment]
        do { segments = try directory.segments() } catch {
            throw SyncError(.io, "\(directory.logsPath): cannot list: \(error.localizedDescription)")
        }
        if state.mlflowRunID == nil {
            guard try createOrFindRun(client, segments) else { return .idle(recheck: nil) }
            return .more
        }
        console.interval = context.consoleInterval
        if try lending({ (s: inout RunState) throws(SyncError) in try console.advance(consoleSources(segments), state: &s, client: client, now: Self.now()) }) {
            state.status = .pending
            try save()
            return .more
        }
        pictures.firstInterval = context.pictureInterval
        if try lending({ (s: inout RunState) throws(SyncError) in try pictures.advance(segments, state: &s, client: client, now: Self.now(), ended: false, logger: logger) }) {
            state.status = .pending
            try save()
            return .more
        }
        for segment in turns.order(segments, rank: \.name.rank) {
            if let outcome = try advance(segment, client) {
                turns.sent(rank: segment.name.rank)
                return outcome
            }
        }
        let outcome = try finish(client, segments)
        guard let due = [console.nextDue, files.nextDue, pictures.nextDue].compactMap({ $0 }).min(), case .idle(let recheck) = outcome else {
            return outcome
        }
        return .idle(recheck: min(recheck ?? due, due))
    }

    private func consoleSources(_ segments: [RunDirectory.Segment]) -> [(name: String, path: String)] {
        ConsoleSync.sources(directory, segments: segments)
    }

    // MARK: - A run directory that disappeared

    /// When this run's directory was first seen gone, while its MLflow run was RUNNING.
    private var goneSince: Date?

    /// The run's directory is gone. An MLflow run left RUNNING would stay so
    /// forever: after `lostAfter` seconds (time for a moved run to show up
    /// at its new place, where it continues) it is set FAILED, with the tag
    /// `runlog.status` = `lost`. A run MLflow already shows ended (e.g. one
    /// `syncd clean` removed) is left as it is.
    private func directoryGone(_ client: MLflowClient) throws(SyncError) -> Outcome {
        guard let run = state.mlflowRunID, state.sentStatus == "RUNNING" else { return .idle(recheck: nil) }
        let now = Date()
        let since = goneSince ?? now
        goneSince = since
        let left = context.lostAfter - now.timeIntervalSince(since)
        if left > 0 { return .idle(recheck: left) }
        try client.logBatch(runID: run, metrics: [], tags: [("runlog.status", "lost")])
        try client.updateRun(run, status: "FAILED", endTime: Int64(since.timeIntervalSince1970 * 1000))
        logger.warning("run \(state.runID): \(directory.path) is gone; its MLflow run \(run) is set FAILED (runlog.status = lost)")
        state.sentStatus = "FAILED"
        try save()
        return .idle(recheck: nil)
    }

    // MARK: - The MLflow run

    /// Finds the run's MLflow run by its `runlog.run_id` tag, or creates it.
    /// False while no log has a complete first frame yet.
    private func createOrFindRun(_ client: MLflowClient, _ segments: [RunDirectory.Segment]) throws(SyncError) -> Bool {
        let ordered = segments.sorted { ($0.name.attempt, $0.name.rank, $0.name.segment) < ($1.name.attempt, $1.name.rank, $1.name.segment) }
        guard let first = ordered.first, let reader = try? LogReader(path: first.path), let frame = try? reader.next() else {
            return false
        }
        var start = RunStart(runID: state.runID)
        for case .runStart(let s) in frame.records.prefix(1) { start = s }
        if start.startTime == 0 { start.startTime = reader.header.created }
        let experiment = try context.experimentID(project: start.project, client: client)
        let runID = state.runID, owner = Self.owner(of: directory.path)
        let (id, created) = try client.findOrCreateRun(experimentID: experiment, tag: "runlog.run_id", value: runID) { () throws(SyncError) in
            var tags = [("runlog.run_id", runID), ("runlog.host", start.host), ("runlog.attempt", String(start.attempt))]
            if let owner { tags.append(("mlflow.user", owner)) }
            tags.append(("mlflow.source.name", RecordMapper.clip(start.argv.first ?? "runlog")))
            return try client.createRun(
                experimentID: experiment, name: MLflowNames.runName(start.name.isEmpty ? runID : start.name),
                startTime: max(0, start.startTime / 1000), tags: tags)
        }
        if created { logger.debug("run \(runID): created MLflow run \(id) in experiment \(experiment)") }
        state.mlflowRunID = id
        state.experimentID = experiment
        state.mlflowURL = client.serverURL
        state.status = .pending
        try save()
        return true
    }

    /// Logs, once per stretch of work, which MLflow run this run goes to.
    private func announce(_ client: MLflowClient) {
        if state.mlflowURL != client.serverURL { state.mlflowURL = client.serverURL }
        guard !announced else { return }
        announced = true
        pointsSent = 0
        logger.info("run \(state.runID): syncing to \(state.mlflowRunURL ?? client.serverURL)")
    }

    /// Logs that the run is complete in MLflow: it ended, and all of it was sent.
    private func announceComplete(_ status: RunStatus) {
        guard announced else { return }
        announced = false
        logger.info("run \(state.runID): complete (\(status.rawValue), \(pointsSent) points sent): \(state.mlflowRunURL ?? "")")
    }

    static func owner(of path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0, let pw = getpwuid(st.st_uid), let name = pw.pointee.pw_name else { return nil }
        return String(cString: name)
    }

    // MARK: - Reading and sending

    /// Sends the next request of `segment`, or nil when it is all acknowledged.
    private func advance(_ segment: RunDirectory.Segment, _ client: MLflowClient) throws(SyncError) -> Outcome? {
        let name = segment.name.fileName
        var cursor = state.segments[name] ?? RunState.Cursor(offset: 0)
        guard let reader = logs.open(segment, at: cursor, logger: logger) else { return nil }
        let mapper = RecordMapper(runPath: directory.path, attempt: segment.name.attempt, rank: segment.name.rank,
                                  histogramRecords: context.histogramRecords)
        guard var frame = try read(reader, segment) else {
            logs.sawTail(segment)
            return nil
        }
        if frame.offset != cursor.offset { cursor = RunState.Cursor(offset: frame.offset) }
        var batch = Batch()
        var known = params ?? [:]
        var pendingOp: Item.Op?
        scan: while true {
            while cursor.record < frame.records.count {
                let items = mapper.items(frame.records[cursor.record])
                if case .config = frame.records[cursor.record], params == nil {
                    // Read within this turn, so that the config goes with what its log sent before it.
                    params = try client.getRun(state.mlflowRunID!).params
                    known = params ?? [:]
                }
                while cursor.item < items.count {
                    if case .op(let op) = items[cursor.item] {
                        if batch.isEmpty { pendingOp = op }
                        break scan
                    }
                    guard batch.add(items[cursor.item], known: known) else { break scan }
                    cursor.item += 1
                }
                cursor.record += 1
                cursor.item = 0
            }
            cursor = RunState.Cursor(offset: frame.end)
            guard let next = try read(reader, segment) else { break }
            frame = next
            if frame.offset != cursor.offset { cursor = RunState.Cursor(offset: frame.offset) }
        }
        if pendingOp != nil || !batch.isEmpty { announce(client) }
        if let op = pendingOp {
            try perform(op, client)
            cursor.item += 1
        } else if !batch.isEmpty {
            try client.logBatch(runID: state.mlflowRunID!, metrics: batch.metrics, params: batch.params, tags: batch.tags)
            for (k, v) in batch.params { params?[k] = v }
            pointsSent += batch.metrics.count
            context.countSent(points: batch.metrics.count)
        }
        state.segments[name] = cursor
        state.status = .pending
        state.lastError = nil
        try save()
        return .more
    }

    private func read(_ reader: LogReader, _ segment: RunDirectory.Segment) throws(SyncError) -> LogReader.DecodedFrame? {
        do { return try reader.next() } catch {
            throw SyncError(.io, "\(segment.path): \(error)")
        }
    }

    private func perform(_ op: Item.Op, _ client: MLflowClient) throws(SyncError) {
        let run = state.mlflowRunID!, experiment = state.experimentID ?? "0"
        switch op {
        case .setRunning(let attempt):
            guard attempt > state.sentAttempt else { return }
            try client.updateRun(run, status: "RUNNING", endTime: nil)
            state.sentAttempt = attempt
            state.sentStatus = "RUNNING"
        case .deleteTag(let key):
            try client.deleteTag(run, key: key)
        case .putArtifact(let path, let bytes):
            try client.putArtifact(experimentID: experiment, runID: run, path: path, bytes: bytes)
        case .uploadFile(let path, let source, let size, let sha256):
            var st = stat()
            guard lstat(source, &st) == 0 else {
                try checkpointGone(path: path, source: source, client)
                return
            }
            do {
                let file = try CheckpointUpload.allowedFile(source, in: directory)
                try client.uploadArtifact(experimentID: experiment, runID: run, path: path, file: file, size: size, sha256: sha256)
            } catch where error.code == .data {
                // One bad file does not stop the run: it is left out and noted.
                let tag = CheckpointUpload.errorTag(path)
                logger.error("run \(state.runID): checkpoint not uploaded: \(error.message); recorded as the tag \(tag)")
                try client.logBatch(runID: run, metrics: [], tags: [(tag, RecordMapper.clip(error.message))])
                state.fileErrors[path.description] = error.message
            } catch where lstat(source, &st) != 0 {
                try checkpointGone(path: path, source: source, client)  // deleted while it was being sent
            }
        case .runEnd(let key, let end):
            state.ends[key] = end
        }
    }

    /// A checkpoint file that is not there: retired on purpose (a
    /// `checkpoint_removed` record, durable before the file was deleted) is
    /// skipped; otherwise it is lost, said in the log and in the tag
    /// `runlog.missing.<path>`.
    private func checkpointGone(path: ArtifactPath, source: String, _ client: MLflowClient) throws(SyncError) {
        let relative = String(source.dropFirst(directory.path.count + 1))
        if !retired.contains(relative) {
            retired = Set(directory.checkpointLedger().retired.map(\.path))
        }
        if retired.contains(relative) {
            logger.info("run \(state.runID): checkpoint \(relative) was removed by its writer before upload; not uploaded")
            return
        }
        logger.warning("run \(state.runID): checkpoint \(source) is gone; recorded as the tag runlog.missing.\(path)")
        try client.logBatch(runID: state.mlflowRunID!, metrics: [], tags: [(MLflowNames.key("runlog.missing." + path.description), "file deleted before upload")])
    }

    // MARK: - Status

    /// Everything is read: makes MLflow's status match the run's.
    private func finish(_ client: MLflowClient, _ segments: [RunDirectory.Segment]) throws(SyncError) -> Outcome {
        guard let (status, latest, endTime) = Self.status(of: segments, in: directory, ends: state.ends, context: context) else {
            return .idle(recheck: nil)
        }
        // Histogram pictures and run files go before the end status: a finished run in MLflow has them.
        if try lending({ (s: inout RunState) throws(SyncError) in
            try pictures.advance(segments, state: &s, client: client, now: Self.now(), ended: status != .running, logger: logger)
        }) {
            state.status = .pending
            try save()
            return .more
        }
        if pictures.reading { return .more }
        let runID = state.runID
        if try lending({ (s: inout RunState) throws(SyncError) in
            try files.advance(directory, state: &s, client: client, now: Self.now(), ended: status != .running,
                              logger: { [logger] in logger.warning("run \(runID): \($0)") })
        }) {
            state.status = .pending
            try save()
            return .more
        }
        let wanted = Self.statusWord(status)
        if wanted != state.sentStatus || latest > state.sentAttempt {
            let run = state.mlflowRunID!
            announce(client)
            try client.logBatch(runID: run, metrics: [], tags: [("runlog.status", status.rawValue)])
            try client.updateRun(run, status: wanted, endTime: status == .running ? nil : endTime)
            logger.debug("run \(state.runID): MLflow status \(wanted) (\(status.rawValue))")
            state.sentStatus = wanted
            state.sentAttempt = latest
        }
        let pending = segments.reduce(Int64(0)) { sum, s in
            sum + Self.unreadBytes(s.name.fileName, at: s.path, state: state)
        }
        // A picture waiting for its next refresh leaves the run synced: its histograms are in MLflow.
        if console.hasPending || files.hasPending {
            return .idle(recheck: [console.nextDue, files.nextDue, pictures.nextDue].compactMap { $0 }.min())
        }
        if state.status != .synced || state.pendingBytes != pending || state.lastError != nil || state.mlflowURL != client.serverURL {
            state.status = .synced
            state.pendingBytes = pending
            state.lastError = nil
            state.mlflowURL = client.serverURL
            try save()
        }
        if status != .running { announceComplete(status) }
        return .idle(recheck: status == .running ? context.recheckInterval : nil)
    }

    private func save() throws(SyncError) {
        try context.store.save(&state)
    }

    /// The run's status from its latest attempt's ranks (their run ends in
    /// `ends`, else their writers' liveness), that attempt, and its end time
    /// in ms; nil when the run has no log.
    static func status(of segments: [RunDirectory.Segment], in directory: RunDirectory, ends: [String: RunState.End],
                       context: SyncContext) -> (RunStatus, UInt64, Int64)? {
        guard let latest = segments.map(\.name.attempt).max() else { return nil }
        var lastOfRank: [UInt64: RunDirectory.Segment] = [:]
        for s in segments where s.name.attempt == latest {
            if let known = lastOfRank[s.name.rank], known.name.segment > s.name.segment { continue }
            lastOfRank[s.name.rank] = s
        }
        var statuses: [RunStatus] = []
        var endTime: Int64 = 0
        for (rank, segment) in lastOfRank {
            if let end = ends["\(latest)/\(rank)"] {
                statuses.append(RunStatus(rawValue: end.status) ?? .failed)
                endTime = max(endTime, end.endTime / 1000)
            } else {
                let verdict = context.liveness.check(livePath: directory.livePath(attempt: latest, rank: rank), logPath: segment.path)
                statuses.append(verdict.isAlive ? .running : .crashed)
                endTime = max(endTime, Self.mtimeMillis(segment.path))
            }
        }
        return (RunStatus.combine(statuses), latest, endTime)
    }

    /// The word a destination is given for a run's status: `RUNNING`, `FINISHED`, `KILLED`, `FAILED` (crashed too).
    static func statusWord(_ status: RunStatus) -> String {
        switch status {
        case .running: return "RUNNING"
        case .finished: return "FINISHED"
        case .killed: return "KILLED"
        case .failed, .crashed: return "FAILED"
        }
    }

    /// Seconds on a clock that never jumps.
    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// Bytes of the log `name` at `path` past the cursor `state` keeps for it.
    static func unreadBytes(_ name: String, at path: String, state: RunState) -> Int64 {
        max(0, fileSize(path) - (state.segments[name]?.offset ?? 0))
    }

    static func mtimeMillis(_ path: String) -> Int64 {
        var st = stat()
        guard stat(path, &st) == 0 else { return Int64(Date().timeIntervalSince1970 * 1000) }
        return Int64(st.st_mtim.tv_sec) * 1000 + Int64(st.st_mtim.tv_nsec) / 1_000_000
    }
}
