// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The background thread: takes batches, encodes them into frames, appends
/// them, syncs by policy, beats the heartbeat, and retries after failures.
extension Pipeline {
    /// The thread's loop; returns when `close` has stopped it.
    func run() {
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
            let dropped = droppedRecord()
            working.beginItem(bytes: dropped.count + 32)
            working.append(record: dropped)
        }
        if names.count < s.pointee.keyNames.count { names.append(contentsOf: s.pointee.keyNames[names.count...]) }
        callerWake.broadcast()
        monitor.unlock()
        do {
            try encoder.encode(working, names: names) { unwritten.append($0) }
        } catch {
            report("runlog: \(sink.path): records refused by the format and dropped: \(error)")
        }
        working.removeAll()
        monitor.lock()
        writeFrames(upTo: upTo, sync: sync)
    }

    /// Writes frames left over from a failure, then syncs. Called and returns with the lock held.
    private func writeAndSync(sync: Bool) {
        writeFrames(upTo: state.pointee.appended - state.pointee.pending.count, sync: sync)
    }

    /// Appends the unwritten frames, as few writes as the sink allows, and
    /// syncs when asked or by policy; on success everything appended up to
    /// `upTo` is written (and durable when synced).
    ///
    /// The append rule (spec/format.md §5): a write never lands past one not
    /// yet synced, so the log is synced first when the last write is not. A
    /// crash then loses at most the last write, which reads as a tail. At
    /// most one fsync per write, and one write per cycle unless a segment
    /// ends or the frames exceed `LogFileSink.writeBytes`.
    private func writeFrames(upTo: Int, sync: Bool) {
        let s = state
        s.pointee.cycle += 1
        let before = s.pointee.written
        monitor.unlock()
        var failure: FormatError?
        var done = 0
        var syncedBefore = false
        do {
            while done < unwritten.count {
                if unsynced {
                    try syncSink()
                    syncedBefore = true
                }
                done += try sink.appendFrames(unwritten[done...])
                unsynced = true
                if options.sync == .everyFrame { try syncSink() }
            }
            if unsynced, sync || syncIntervalElapsed() { try syncSink() }
        } catch let e as FormatError {
            failure = e
        } catch {
            failure = FormatError(.io, "\(error)")
        }
        unwritten.removeFirst(done)
        monitor.lock()
        if syncedBefore { s.pointee.durable = max(s.pointee.durable, before) }
        // Report a change of state first (without the lock), then make it
        // visible: a caller woken by the change finds the report already made.
        if (failure != nil) != s.pointee.failing {
            let message: String
            if let failure {
                message = "runlog: cannot write \(sink.path): \(failure.description); keeping records in memory and retrying every \(options.retryInterval) s"
            } else {
                let (rows, records) = (s.pointee.droppedRows, s.pointee.droppedRecords)
                message = "runlog: writing \(sink.path) resumed"
                    + (rows + records > 0 ? "; \(rows) rows and \(records) records were dropped while it failed (recorded as summary key runlog/dropped)" : "")
            }
            monitor.unlock()
            report(message)
            monitor.lock()
        }
        if let failure {
            lastFailure = Monitor.now()
            s.pointee.failing = true
            s.pointee.failedCycle = s.pointee.cycle
            s.pointee.lastError = failure.description
        } else {
            s.pointee.failing = false
            s.pointee.written = max(s.pointee.written, upTo)
            if !unsynced { s.pointee.durable = s.pointee.written }
        }
        callerWake.broadcast()
    }

    private func syncSink() throws {
        try sink.sync()
        unsynced = false
        lastSync = Monitor.now()
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
        try? sink.close()
    }
}
