// SPDX-License-Identifier: Apache-2.0
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
        /// The keys of the latest row logged as a dictionary, in its order, and their ids.
        var lastRowKeys: [String] = []
        var lastRowIDs: [Int32] = []
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
    let writerWake: Monitor.Condition
    let callerWake: Monitor.Condition
    let options: RunOptions
    let pendingCap: Int
    let wakeBytes: Int

    // Used by the writer thread only (Pipeline+Writer.swift).
    let sink: FrameSink
    let liveness: LivenessWriter?
    var encoder: FrameEncoder
    var working = Batch(reserving: 4096)
    /// Frames encoded but not yet appended (left over by a failed write).
    var unwritten: [[UInt8]] = []
    /// Key names by id, copied from the shared state as they are registered.
    var names: [String] = []
    var unsynced = false
    var lastSync: UInt64 = 0
    var lastFailure: UInt64 = 0
    var nextBeat: UInt64 = 0

    init(sink: FrameSink, liveness: LivenessWriter?, options: RunOptions) {
        state = .allocate(capacity: 1)
        state.initialize(to: State())
        writerWake = monitor.makeCondition()
        callerWake = monitor.makeCondition()
        self.options = options
        self.sink = sink
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
        while true {
            if _slowPath(s.pointee.closedForWriting) {
                let first = !s.pointee.warnedAfterFinish
                s.pointee.warnedAfterFinish = true
                monitor.unlock()
                if first { report("runlog: the run is finished; records logged after finish() are ignored") }
                return false
            }
            if _fastPath(s.pointee.pending.bytes + bytes <= pendingCap || s.pointee.pending.isEmpty) { break }
            if s.pointee.failing && !droppable { break }
            if s.pointee.failing && options.whenDiskFails == .dropAndCount {
                if isRow {
                    s.pointee.droppedRows += 1
                    s.pointee.droppedPoints += points
                } else {
                    s.pointee.droppedRecords += 1
                }
                monitor.unlock()
                return false
            }
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

    func wakeWriter() {
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

    /// Appends an encoded record. With `last` (the run end) nothing is
    /// accepted after it, in the same critical section: a row logged by
    /// another thread meanwhile cannot land after the run end.
    func append(record: Record, last: Bool = false) {
        let bytes = record.encoded
        monitor.lock()
        guard admit(bytes: bytes.count + 32, isRow: false, points: 0, droppable: record.kind == 4) else { return }
        state.pointee.pending.append(record: bytes)
        if last { state.pointee.closedForWriting = true }
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

    /// Hands `line` to `onError` (standard error by default). Never call it
    /// with the lock held: the handler may log.
    func report(_ line: String) {
        if let handler = options.onError {
            handler(line)
        } else {
            let text = line + "\n"
            _ = text.withCString { write(2, $0, strlen($0)) }
        }
    }
}
