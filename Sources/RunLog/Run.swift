// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One attempt of a training run writing its log: the API training code calls.
///
/// ```swift
/// let run = try Run(project: "mnist", name: "cnn", config: ["lr": 0.01, "batch_size": 64])
/// run.log(["training/loss": 0.31, "lr": 0.01], step: 120)
/// run.finish(exitCode: 0)
/// ```
///
/// Every method is safe to call from any thread. Logging calls only append
/// to an in-memory batch; a background thread encodes batches into
/// compressed frames, appends them to `ROOT/<id>/logs/a…-r…-s0000.rlog`
/// within `RunOptions.writeInterval` of the first record in them, and syncs
/// the file by `RunOptions.sync` (always on `flush()`, checkpoints and
/// `finish`). Logging never throws and never stops the training process:
/// when the disk fails, the error is reported once through
/// `RunOptions.onError` (standard error by default), records wait in memory
/// up to `RunOptions.memoryCap` and are written when the disk recovers;
/// records beyond the cap follow `RunOptions.whenDiskFails`.
///
/// With `RUNLOG_MODE=disabled` (or `RunOptions.mode = .disabled`) nothing is
/// created on disk and every call returns at once.
///
/// Call `finish` at the end: it writes the run end and waits until it is
/// durable. A run released without `finish` is finished as `.finished`
/// with a message saying so. On SIGTERM (preemption, a time limit, `scancel`)
/// the runs of the process are finished as `.killed` and the process then
/// ends by the signal, unless the program handles SIGTERM itself
/// (`RunOptions.finishOnSIGTERM`). A process that exits or dies otherwise
/// without `finish` leaves an attempt that readers report as crashed.
public final class Run: Sendable {
    /// Whether an existing run id may be continued.
    public enum Resume: Sendable, Equatable {
        /// Continue the run if it exists (a new attempt), else create it.
        case allow
        /// Fail with `.runExists` if the run exists.
        case never
        /// Fail with `.runNotFound` unless the run exists.
        case must
    }

    /// Counters of what the logger did with what it was given.
    public struct Stats: Sendable, Equatable {
        /// Rows and records accepted (not dropped) since the start.
        public var logged: Int
        /// Of those, how many are known durable (synced).
        public var durable: Int
        /// Rows, their values and other records dropped while the disk failed.
        public var droppedRows: Int
        public var droppedPoints: Int
        public var droppedRecords: Int
        /// Whether writing is failing right now, and why.
        public var isFailing: Bool
        public var lastError: String?
    }

    /// The name and version written into every log.
    public static let writer = "runlog-swift/0.1.0"

    /// The run id ("" when disabled).
    public let id: String
    /// The run directory; nil when disabled.
    public let directory: RunDirectory?
    /// The attempt and rank this process writes (spec/run-directory.md §2).
    public let attempt: UInt64
    public let rank: UInt64
    /// The path of the log this process writes now (the latest segment when
    /// `RunOptions.segmentBytes` is set); nil when disabled.
    public var logPath: String? { pipeline?.sink.path }
    /// The console log this process's output goes to (`RunOptions.captureConsole`); nil without capture.
    public var consoleLogPath: String? { console?.path }

    let pipeline: Pipeline?
    let console: ConsoleCapture?
    let sampler: SystemSampler?
    let metadata: RunMetadata
    let checkpoints: CheckpointStore?

    /// Starts a run, or a new attempt of the run `id`.
    ///
    /// - Parameters:
    ///   - config, tags, notes: written with the run start.
    ///   - id: the run id (1 to 64 of `[A-Za-z0-9._-]`, not starting with `.`);
    ///     else `$RUNLOG_RUN_ID`; else 8 random characters.
    ///   - root: the root directory; else `$RUNLOG_DIR`; else `./runlogs`.
    ///   - resume: whether an existing run may be continued; continuing adds an attempt.
    ///   - attempt: else `$RUNLOG_ATTEMPT`, else one more than the highest attempt of this rank.
    ///   - rank: else `$RUNLOG_RANK`, `$RANK`, `$SLURM_PROCID`, else 0.
    /// - Throws: `RunError` when the directory or the log cannot be created,
    ///   or the attempt is already being written by another process.
    public init(
        project: String = "", name: String = "", group: String = "", config: [String: Value] = [:],
        tags: [String] = [], notes: String = "", id: String? = nil, root: String? = nil, resume: Resume = .allow,
        attempt: UInt64? = nil, rank: UInt64? = nil, options: RunOptions = RunOptions()
    ) throws {
        metadata = RunMetadata(tags: tags, notes: notes)
        guard options.mode == .enabled else {
            self.id = id ?? ""
            directory = nil
            self.attempt = attempt ?? 1
            self.rank = rank ?? 0
            pipeline = nil
            console = nil
            sampler = nil
            checkpoints = nil
            return
        }
        if let e = RunError.tooDeep(Run.entries(config), in: "config") { throw e }
        let env = ProcessInfo.processInfo.environment
        let place = try RunPlacement(
            root: RunDirectory.root(root), id: id ?? env["RUNLOG_RUN_ID"].flatMap { $0.isEmpty ? nil : $0 },
            resume: resume, attempt: attempt, rank: rank, environment: env)
        self.id = place.id
        directory = place.directory
        self.attempt = place.attempt
        self.rank = place.rank
        let (log, liveness) = try place.claim(heartbeatInterval: options.heartbeatInterval, compressionLevel: options.compressionLevel)
        checkpoints = CheckpointStore(runPath: place.directory.path)
        let level = options.compressionLevel
        let sink = LogFileSink(log, segmentBytes: options.segmentBytes) { try place.createSegment($0, compressionLevel: level) }
        let pipeline = Pipeline(sink: options.sinkWrapper?(sink) ?? sink, liveness: liveness, options: options)
        self.pipeline = pipeline

        var start = RunStart(runID: place.id)
        start.project = project
        start.name = name.isEmpty ? RunName.generated(for: place.id) : name
        start.group = group
        start.tags = tags
        start.notes = notes
        start.host = Host.name
        start.pid = UInt64(getpid())
        start.startTime = Monitor.wallMicros()
        start.attempt = place.attempt
        start.rank = place.rank
        start.worldSize = place.worldSize
        start.jobID = place.jobID
        start.argv = CommandLine.arguments
        start.writer = Run.writer
        pipeline.append(record: .runStart(start))
        if options.recordsEnvironment { pipeline.append(record: .environment(EnvironmentProbe.entries())) }
        console = options.captureConsole ? ConsoleCapture(
            directory: place.directory, runID: place.id, attempt: place.attempt, rank: place.rank,
            compressionLevel: options.compressionLevel, writeDelayMilliseconds: Run.consoleWriteDelay(env),
            report: { pipeline.report($0) }) : nil
        if !config.isEmpty {
            let entries = Run.entries(config)
            metadata.merge(config: entries)
            pipeline.append(record: .config(entries))
        }
        do {
            try pipeline.flush()
        } catch {
            _ = metadata.markFinished()  // deinit must not end the run again
            _ = pipeline.close(timeout: 0)
            pipeline.release()
            throw error
        }
        let interval = SystemSampler.interval(
            option: options.systemMetricsInterval, environment: environmentVariable("RUNLOG_SYSTEM_METRICS_INTERVAL"))
        sampler = interval.map {
            SystemSampler(pipeline: pipeline, diskPath: place.directory.path, procRoot: options.systemProcRoot, interval: $0)
        }
        if options.finishOnSIGTERM { TerminationSignal.shared.register(self) }
    }

    deinit {
        if metadata.markFinished() { _ = end(status: .finished, exitCode: 0, message: "finished when released, without finish()") }
    }

    /// Whether anything is written (false when disabled).
    public var isEnabled: Bool { pipeline != nil }

    // MARK: - Metrics

    /// Logs one row of scalars at `step`; nil means one more than the step of
    /// the previous row (0 for the first). Steps may go down or repeat: every row is kept.
    public func log(_ values: [String: Double], step: Int64? = nil) {
        pipeline?.appendRow(values, step: step)
    }

    /// Registers metric keys for `log(_:_:step:)`, the fast way to log.
    public func keys(_ names: String...) -> MetricKeys { keys(names) }

    /// Registers metric keys for `log(_:_:step:)`, the fast way to log.
    public func keys(_ names: [String]) -> MetricKeys {
        guard let pipeline else { return MetricKeys(names: names, ids: [], owner: nil) }
        return MetricKeys(names: names, ids: pipeline.register(names), owner: ObjectIdentifier(pipeline))
    }

    /// Logs one row: `values[i]` for `keys.names[i]`, at `step` (nil: as in
    /// `log(_:step:)`). Values beyond the number of keys are ignored, keys
    /// beyond the number of values have no value in this row.
    public func log(_ keys: MetricKeys, _ values: Double..., step: Int64? = nil) {
        guard let pipeline else { return }
        values.withUnsafeBufferPointer { log(pipeline, keys, $0, step) }
    }

    /// Logs one row from a buffer of values; see `log(_:_:step:)`.
    public func log(_ keys: MetricKeys, values: UnsafeBufferPointer<Double>, step: Int64? = nil) {
        guard let pipeline else { return }
        log(pipeline, keys, values, step)
    }

    @inline(__always)
    private func log(_ pipeline: Pipeline, _ keys: MetricKeys, _ values: UnsafeBufferPointer<Double>, _ step: Int64?) {
        if _fastPath(keys.owner == ObjectIdentifier(pipeline)) {
            keys.ids.withUnsafeBufferPointer { pipeline.appendRow(ids: $0, values: values, step: step) }
        } else {
            let ids = pipeline.register(keys.names)
            ids.withUnsafeBufferPointer { pipeline.appendRow(ids: $0, values: values, step: step) }
        }
    }

    // MARK: - Durability and the end

    /// Returns once everything logged before the call is written and synced.
    /// - Throws: `RunError` (`.io`) when the disk fails meanwhile (the records
    ///   stay queued and are retried), `.finished` after `finish`.
    public func flush() throws {
        try pipeline?.flush()
    }

    /// Ends the run: `.finished` for exit code 0, else `.failed`. See `finish(status:exitCode:message:)`.
    @discardableResult
    public func finish(exitCode: Int32 = 0) -> Bool {
        finish(status: exitCode == 0 ? .finished : .failed, exitCode: exitCode)
    }

    /// Stops console capture, writes the run end, syncs, stops the writer and
    /// removes the liveness file. A failing disk is retried for `RunOptions.finishTimeout` seconds.
    /// Returns whether the run end is durable (always true when disabled);
    /// later calls do nothing and return false. Records logged afterwards are
    /// ignored (reported once).
    @discardableResult
    public func finish(status: RunEnd.Status, exitCode: Int32 = 0, message: String = "") -> Bool {
        guard metadata.markFinished() else { return false }
        return end(status: status, exitCode: exitCode, message: message)
    }

    private func end(status: RunEnd.Status, exitCode: Int32, message: String) -> Bool {
        guard let pipeline else { return true }
        TerminationSignal.shared.unregister(self)
        console?.stop()
        sampler?.stop()
        pipeline.append(record: .runEnd(RunEnd(status: status, exitCode: Int64(exitCode), endTime: Monitor.wallMicros(), message: message)), last: true)
        let durable = pipeline.close(timeout: pipeline.options.finishTimeout)
        if !durable {
            pipeline.report("runlog: \(logPath ?? id): the run end could not be written; readers will see this attempt as crashed")
        }
        pipeline.release()
        return durable
    }

    /// What the logger has done so far; zeros when disabled.
    public var stats: Stats {
        pipeline?.stats
            ?? Stats(logged: 0, durable: 0, droppedRows: 0, droppedPoints: 0, droppedRecords: 0, isFailing: false, lastError: nil)
    }

    /// `RUNLOG_CONSOLE_TEST_WRITE_DELAY`: seconds the console's writer waits
    /// before each frame, a slow disk for tests (as in the Python client).
    static func consoleWriteDelay(_ env: [String: String]) -> UInt32 {
        guard let s = env["RUNLOG_CONSOLE_TEST_WRITE_DELAY"], let d = Double(s), d > 0 else { return 0 }
        return UInt32(min(d, 60) * 1000)
    }

    /// `values` as entries in key order.
    static func entries(_ values: [String: Value]) -> [Entry] {
        values.sorted { $0.key < $1.key }.map { Entry($0.key, $0.value) }
    }
}
