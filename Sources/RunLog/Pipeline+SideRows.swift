// SPDX-License-Identifier: Apache-2.0
/// Rows logged beside the training loop's own (system metrics).
extension Pipeline {
    /// Appends a metrics row at `step` without touching the run's step
    /// counter: `log` without a step and `currentStep` see only the caller's rows.
    func appendSideRow(ids: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>, step: Int64) {
        let time = Monitor.wallMicros()
        let n = min(ids.count, values.count)
        guard n > 0 else { return }
        monitor.lock()
        guard admit(bytes: Batch.rowOverhead + n * Batch.valueSize, isRow: true, points: n) else { return }
        let s = state
        s.pointee.pending.keys.append(contentsOf: UnsafeBufferPointer(rebasing: ids[0..<n]))
        s.pointee.pending.values.append(contentsOf: UnsafeBufferPointer(rebasing: values[0..<n]))
        s.pointee.pending.endRow(step: step, time: time)
        afterAppend()
        monitor.unlock()
    }
}
