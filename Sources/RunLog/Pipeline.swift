import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The queue between the threads that log and the background thread that
/// writes: callers append to a batch under a lock; the writer swaps it for an
/// empty one, encodes it into frames, appends them to the log, syncs by
/// policy and beats the liveness file's heartbeat.
///
/// Bounds: a batch holds at most `RunOptions.pendingCap` bytes; the writer
/// holds at most one more batch's frames. What happens to a caller at the
/// bound is `RunOptions.WhenDiskFails`.
final class Pipeline: @unchecked Sendable {
    struct State {
        var pending = Batch(reserving: 4096)
        /// Key ids of the run: names in id order, and the index.
        var keyNames: [String] = []
        var keyIndex: [String: Int32] = [:]
        var nextStep: Int64 = 0
        var lastStep: Int64 = 0
        /// Items appended, written and made durable since the start.
        var appended = 0
        var written = 0
        var durable = 0
        /// `appended` as of the latest flush request.
        var flushWanted = 0
        var wokeWriter = false
        var failing = false
        /// Cycles of the writer; the cycle in which writing last failed.
        var cycle = 0
        var failedCycle = -1
        var lastError = ""
        var droppedRows = 0
        var droppedPoints = 0
        var droppedRecords = 0
        var droppedReported = (rows: 0, records: 0)
        var stopping = false
        var stopped = false
        var closedForWriting = false
        var warnedAfterFinish = false
    }

    let state: UnsafeMutablePointer<State>
    let monitor = Monitor()
    private let writerWake: Monitor.Condition
    private let callerWake: Monitor.Condition
    let options: RunOptions
    private let pendingCap: Int
    private let wakeBytes: Int

    // Writer thread only.
    private let log: LogWriter
    private let liveness: LivenessWriter?
    private var encoder: FrameEncoder
    private var working = Batch(reserving: 4096)
    private var unwritten: [[UInt8]] = []
    private var names: [String] = []
    private var unsynced = false
    private var lastSync: UInt64 = 0
    private var lastFailure: UInt64 = 0
    private var nextBeat: UInt64 = 0

    init(log: LogWriter, liveness: LivenessWriter?, options: RunOptions) {
        state = .allocate(capacity: 1)
        state.initialize(to: State())
        writerWake = monitor.makeCondition()
        callerWake = monitor.makeCondition()
        self.options = options
        self.log = log
        self.liveness = liveness
        pendingCap = options.pendingCap
        wakeBytes = min(pendingCap / 2, 4 << 20)
        encoder = FrameEncoder(target: options.frameTarget, compressionLevel: options.compressionLevel)
        let thread = Thread { [self] in self.run() }
        thread.name = "runlog-writer"
        thread.start()
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
    }

    // MARK: - Callers (any thread)

    /// Reserves room for an item of `bytes` bytes; returns with the lock held
    /// and true, or with the lock released and false when the item is dropped.
    /// While the disk fails, only rows and histograms (`droppable`) are ever
    /// dropped; other records, rare and small, are kept beyond the cap so that
    /// no config, checkpoint or run end is lost and `finish` never waits here.
    /// Call with the lock held.
    @inline(__always)
    func admit(bytes: Int, isRow: Bool, points: Int, droppable: Bool = true) -> Bool {
        let s = state
        if _slowPath(s.pointee.closedForWriting) {
            if !s.pointee.warnedAfterFinish {
                s.pointee.warnedAfterFinish = true
                report("runlog: the run is finished; records logged after finish() are ignored")
            }
            monitor.unlock()
            return false
        }
        while _slowPath(s.pointee.pending.bytes + bytes > pendingCap && !s.pointee.pending.isEmpty) {
            if s.pointee.failing && options.whenDiskFails == .dropAndCount {
                if !droppable { break }
                if isRow {
                    s.pointee.droppedRows += 1
                    s.pointee.droppedPoints += points
                } else {
                    s.pointee.droppedRecords += 1
                }
                monitor.unlock()
                return false
            }
            if s.pointee.failing && !droppable { break }
            wakeWriter()
            monitor.wait(callerWake)
        }
        s.pointee.pending.beginItem(bytes: bytes)
        s.pointee.appended += 1
        return true
    }

    /// Call with the lock held, after an item was added.
    @inline(__always)
    func afterAppend() {
        let s = state
        if _slowPath(s.pointee.pending.count == 1 || (s.pointee.pending.bytes >= wakeBytes && !s.pointee.wokeWriter)) {
            wakeWriter()
        }
    }

    private func wakeWriter() {
        state.pointee.wokeWriter = true
        writerWake.signal()
    }

    /// The id of `key`, registering it. Call with the lock held.
    @inline(__always)
    func keyID(_ key: String) -> Int32 {
        if let id = state.pointee.keyIndex[key] { return id }
        if key.isEmpty { return keyID("_") }  // the format has no empty keys
        let id = Int32(state.pointee.keyNames.count)
        state.pointee.keyNames.append(key)
        state.pointee.keyIndex[key] = id
        return id
    }

    /// Appends an encoded record.
    func append(record: Record) {
        let bytes = record.encoded
        monitor.lock()
        guard admit(bytes: bytes.count + 32, isRow: false, points: 0, droppable: record.kind == 4) else { return }
        state.pointee.pending.append(record: bytes)
        afterAppend()
        monitor.unlock()
    }

    /// Waits until everything appended before the call is written and synced.
    /// Throws when the writer fails meanwhile, or after `timeout` seconds.
    func flush(timeout: Double? = nil) throws {
        monitor.lock()
        defer { monitor.unlock() }
        let s = state
        let target = s.pointee.appended
        let startCycle = s.pointee.cycle
        let deadline = timeout.map { Monitor.now() + Monitor.nanos($0) }
        s.pointee.flushWanted = max(s.pointee.flushWanted, target)
        writerWake.signal()
        while s.pointee.durable < target {
            if s.pointee.failedCycle > startCycle {
                throw RunError(.io, s.pointee.lastError)
            }
            if s.pointee.stopped { throw RunError(.finished, "the run's writer has stopped") }
            if let deadline, Monitor.now() >= deadline {
                throw RunError(.io, "flush timed out: " + (s.pointee.failing ? s.pointee.lastError : "the writer is slow"))
            }
            monitor.wait(callerWake, until: deadline ?? (Monitor.now() + 1_000_000_000))
        }
    }

    /// Refuses further records, writes and syncs what is left (retrying a
    /// failing disk for up to `timeout` seconds) and stops the writer.
    /// Returns whether everything reached the disk.
    func close(timeout: Double) -> Bool {
        monitor.lock()
        state.pointee.closedForWriting = true
        monitor.unlock()
        var ok = true
        do { try flushRetrying(timeout: timeout) } catch { ok = false }
        monitor.lock()
        state.pointee.stopping = true
        writerWake.signal()
        while !state.pointee.stopped { monitor.wait(callerWake) }
        monitor.unlock()
        return ok
    }

    private func flushRetrying(timeout: Double) throws {
        let deadline = Monitor.now() + Monitor.nanos(timeout)
        while true {
            do {
                return try flush(timeout: Double(deadline &- min(deadline, Monitor.now())) / 1e9)
            } catch let e as RunError where e.code == .io && Monitor.now() < deadline {
                continue
            }
        }
    }

    func report(_ line: String) {
        if let handler = options.onError {
            handler(line)
        } else {
            let text = line + "\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
        }
    }

    // MARK: - Writer thread

    private func run() {
        let s = state
        nextBeat = Monitor.now() + Monitor.nanos(options.heartbeatInterval)
        lastSync = Monitor.now()
        monitor.lock()
        while true {
            let now = Monitor.now()
            let wantFlush = s.pointee.flushWanted > s.pointee.durable
            let stopping = s.pointee.stopping
            if now >= nextBeat {
                monitor.unlock()
                liveness?.beat()
                nextBeat = Monitor.now() + Monitor.nanos(options.heartbeatInterval)
                monitor.lock()
                continue
            }
            var deadline = nextBeat
            if s.pointee.failing {
                // Writing failed: retry on schedule; once `close` gave up, stop.
                if stopping { break }
                let retry = lastFailure &+ Monitor.nanos(options.retryInterval)
                if now < retry {
                    s.pointee.wokeWriter = false
                    monitor.wait(writerWake, until: min(deadline, retry))
                    continue
                }
            }
            if unwritten.isEmpty {
                if !s.pointee.pending.isEmpty {
                    let due = s.pointee.pending.firstAt &+ Monitor.nanos(options.writeInterval)
                    if wantFlush || stopping || s.pointee.pending.bytes >= wakeBytes || now >= due {
                        swapAndWrite(sync: wantFlush || stopping)
                        continue
                    }
                    deadline = min(deadline, due)
                } else if wantFlush && unsynced {
                    writeAndSync(sync: true)
                    continue
                } else if wantFlush {
                    // Nothing pending, nothing unwritten, nothing unsynced: all is durable.
                    s.pointee.written = s.pointee.appended
                    s.pointee.durable = s.pointee.appended
                    callerWake.broadcast()
                    continue
                }
                if stopping { break }
            } else {
                writeAndSync(sync: wantFlush)
                continue
            }
            if unsynced, unwritten.isEmpty, case .interval(let seconds) = options.sync {
                let due = lastSync &+ Monitor.nanos(seconds)
                if now >= due {
                    writeAndSync(sync: true)
                    continue
                }
                deadline = min(deadline, due)
            }
            s.pointee.wokeWriter = false
            monitor.wait(writerWake, until: deadline)
        }
        s.pointee.stopped = true
        callerWake.broadcast()
        monitor.unlock()
    }

    /// Takes the pending batch and writes it. Called and returns with the lock held.
    private func swapAndWrite(sync: Bool) {
        let s = state
        swap(&s.pointee.pending, &working)
        s.pointee.wokeWriter = false
        let upTo = s.pointee.appended
        if s.pointee.droppedRows + s.pointee.droppedRecords
            > s.pointee.droppedReported.rows + s.pointee.droppedReported.records
        {
            working.append(record: droppedRecord())
        }
        if names.count < s.pointee.keyNames.count { names.append(contentsOf: s.pointee.keyNames[names.count...]) }
        callerWake.broadcast()
        monitor.unlock()
        do {
            try encoder.encode(working, names: names) { unwritten.append($0) }
        } catch {
            report("runlog: \(log.path): records refused by the format and dropped: \(error)")
        }
        working.removeAll()
        monitor.lock()
        writeFrames(upTo: upTo, sync: sync)
    }

    /// Writes frames left over from a failure, then syncs. Called and returns with the lock held.
    private func writeAndSync(sync: Bool) {
        writeFrames(upTo: state.pointee.appended - state.pointee.pending.count, sync: sync)
    }

    /// Appends the unwritten frames and syncs when asked or by policy; on
    /// success everything appended up to `upTo` is written (and durable when synced).
    private func writeFrames(upTo: Int, sync: Bool) {
        let s = state
        s.pointee.cycle += 1
        monitor.unlock()
        var failure: FormatError?
        var done = 0
        for frame in unwritten {
            do {
                try log.appendFrame(frame)
                done += 1
                unsynced = true
                if options.sync == .everyFrame { try log.sync() }
            } catch let e as FormatError {
                failure = e
                break
            } catch {
                failure = FormatError(.io, "\(error)")
                break
            }
        }
        unwritten.removeFirst(done)
        if failure == nil, unsynced, sync || options.sync == .everyFrame || syncIntervalElapsed() {
            do {
                try log.sync()
                unsynced = false
                lastSync = Monitor.now()
            } catch let e as FormatError {
                failure = e
            } catch {
                failure = FormatError(.io, "\(error)")
            }
        }
        monitor.lock()
        if let failure {
            lastFailure = Monitor.now()
            s.pointee.failedCycle = s.pointee.cycle
            s.pointee.lastError = failure.description
            if !s.pointee.failing {
                s.pointee.failing = true
                report("runlog: cannot write \(log.path): \(failure.description); keeping records in memory and retrying every \(options.retryInterval) s")
            }
        } else {
            if s.pointee.failing {
                s.pointee.failing = false
                let dropped = s.pointee.droppedRows + s.pointee.droppedRecords
                report("runlog: writing \(log.path) resumed" + (dropped > 0 ? "; \(s.pointee.droppedRows) rows and \(s.pointee.droppedRecords) records were dropped while the disk failed (recorded as summary key runlog/dropped)" : ""))
            }
            s.pointee.written = max(s.pointee.written, upTo)
            if !unsynced { s.pointee.durable = s.pointee.written }
        }
        callerWake.broadcast()
    }

    private func syncIntervalElapsed() -> Bool {
        if case .interval(let seconds) = options.sync { return Monitor.now() >= lastSync &+ Monitor.nanos(seconds) }
        return false
    }

    /// A summary record with the drop counts so far. Call with the lock held.
    private func droppedRecord() -> [UInt8] {
        let s = state
        s.pointee.droppedReported = (s.pointee.droppedRows, s.pointee.droppedRecords)
        let counts: Value = .map([
            Entry("rows", .int(Int64(s.pointee.droppedRows))),
            Entry("points", .int(Int64(s.pointee.droppedPoints))),
            Entry("records", .int(Int64(s.pointee.droppedRecords))),
        ])
        return Record.summary([Entry("runlog/dropped", counts)]).encoded
    }

    /// Closes the log and removes the liveness file. Call after `close`
    /// returned. Without a durable run end, the missing liveness file makes
    /// readers see the attempt as crashed (spec/run-directory.md §4 rule 2),
    /// which is the truth: the writer gave up.
    func release() {
        liveness?.remove()
        try? log.close()
    }
}

// MARK: - Rows

extension Pipeline {
    /// Appends a metrics row of pre-registered key ids.
    @inline(__always)
    func appendRow(ids: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>, step: Int64?) {
        let time = Monitor.wallMicros()
        let n = min(ids.count, values.count)
        monitor.lock()
        guard n > 0 else { return skipEmptyRow(step) }
        guard admit(bytes: Batch.rowOverhead + n * Batch.valueSize, isRow: true, points: n) else { return }
        let s = state
        let st = step ?? s.pointee.nextStep
        s.pointee.nextStep = st &+ 1
        s.pointee.lastStep = st
        s.pointee.pending.keys.append(contentsOf: UnsafeBufferPointer(rebasing: ids[0..<n]))
        s.pointee.pending.values.append(contentsOf: UnsafeBufferPointer(rebasing: values[0..<n]))
        s.pointee.pending.endRow(step: st, time: time)
        afterAppend()
        monitor.unlock()
    }

    /// Appends a metrics row given by key.
    func appendRow(_ row: [String: Double], step: Int64?) {
        let time = Monitor.wallMicros()
        monitor.lock()
        guard !row.isEmpty else { return skipEmptyRow(step) }
        guard admit(bytes: Batch.rowOverhead + row.count * Batch.valueSize, isRow: true, points: row.count) else { return }
        let s = state
        let st = step ?? s.pointee.nextStep
        s.pointee.nextStep = st &+ 1
        s.pointee.lastStep = st
        for (key, value) in row {
            let id = keyID(key)
            s.pointee.pending.keys.append(id)
            s.pointee.pending.values.append(value)
        }
        s.pointee.pending.endRow(step: st, time: time)
        afterAppend()
        monitor.unlock()
    }

    /// A row without values is no row, but its step counts. Called with the lock held; releases it.
    private func skipEmptyRow(_ step: Int64?) {
        let st = step ?? state.pointee.nextStep
        state.pointee.nextStep = st &+ 1
        state.pointee.lastStep = st
        monitor.unlock()
    }

    /// Registers `names` and returns their ids.
    func register(_ names: [String]) -> [Int32] {
        monitor.lock()
        defer { monitor.unlock() }
        return names.map { keyID($0) }
    }

    /// The step of the latest row (0 before any).
    var currentStep: Int64 {
        monitor.lock()
        defer { monitor.unlock() }
        return state.pointee.lastStep
    }

    /// Counters for `Run.stats`.
    var stats: Run.Stats {
        monitor.lock()
        defer { monitor.unlock() }
        let s = state.pointee
        return Run.Stats(
            logged: s.appended, durable: s.durable, droppedRows: s.droppedRows, droppedPoints: s.droppedPoints,
            droppedRecords: s.droppedRecords, isFailing: s.failing, lastError: s.failing ? s.lastError : nil)
    }
}
