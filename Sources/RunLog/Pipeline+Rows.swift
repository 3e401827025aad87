// SPDX-License-Identifier: Apache-2.0
/// Metrics rows, key ids and counters, for `Run`.
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
        // Training loops log the same keys call after call, and a dictionary
        // of the same keys iterates in the same order: compare the keys with
        // the previous row's (cheap for identical strings) before hashing them.
        var hit = s.pointee.lastRowKeys.count == row.count
        var i = 0
        for (key, value) in row {
            let id: Int32
            if hit && s.pointee.lastRowKeys[i] == key {
                id = s.pointee.lastRowIDs[i]
            } else {
                hit = false
                id = keyID(key)
            }
            s.pointee.pending.keys.append(id)
            s.pointee.pending.values.append(value)
            i += 1
        }
        if !hit {
            s.pointee.lastRowKeys = Array(row.keys)
            s.pointee.lastRowIDs = s.pointee.lastRowKeys.map { keyID($0) }
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
