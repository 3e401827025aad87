// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// Records logged but not yet handed to the writer, in the order they were logged.
///
/// Metrics rows are kept flat (no allocation per row): row `i` has step
/// `steps[i]`, time `times[i]` and the key ids and values in
/// `keys[rowEnds[i-1]..<rowEnds[i]]`. Other records are kept encoded, each
/// placed before the row it preceded.
struct Batch {
    var steps: [Int64] = []
    var times: [Int64] = []
    var rowEnds: [Int32] = []
    var keys: [Int32] = []
    var values: [Double] = []
    /// Encoded records and the number of rows logged before each.
    var records: [(beforeRow: Int, bytes: [UInt8])] = []
    /// Estimated bytes held.
    var bytes = 0
    /// Monotonic time (ns) of the first item, 0 when empty.
    var firstAt: UInt64 = 0
    /// Items (rows and records) in the batch.
    var count = 0

    var isEmpty: Bool { count == 0 }

    static let rowOverhead = 20
    static let valueSize = 12

    init(reserving capacity: Int = 0) {
        steps.reserveCapacity(capacity)
        times.reserveCapacity(capacity)
        rowEnds.reserveCapacity(capacity)
        keys.reserveCapacity(capacity * 4)
        values.reserveCapacity(capacity * 4)
    }

    /// Empties the batch, keeping its storage.
    mutating func removeAll() {
        steps.removeAll(keepingCapacity: true)
        times.removeAll(keepingCapacity: true)
        rowEnds.removeAll(keepingCapacity: true)
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
        bytes = 0
        firstAt = 0
        count = 0
    }

    @inline(__always)
    mutating func beginItem(bytes n: Int) {
        if count == 0 { firstAt = Monitor.now() }
        count += 1
        bytes += n
    }

    @inline(__always)
    mutating func endRow(step: Int64, time: Int64) {
        steps.append(step)
        times.append(time)
        rowEnds.append(Int32(truncatingIfNeeded: keys.count))
    }

    /// Where row `row`'s keys and values are in `keys` and `values`.
    @inline(__always)
    func range(ofRow row: Int) -> (start: Int, end: Int) {
        (row == 0 ? 0 : Int(rowEnds[row - 1]), Int(rowEnds[row]))
    }

    /// Whether rows `a` and `b` (both valid) have the same keys in the same order.
    @inline(__always)
    func sameKeys(_ a: Int, _ b: Int) -> Bool {
        let (s1, e1) = range(ofRow: a)
        let (s2, e2) = range(ofRow: b)
        guard e1 - s1 == e2 - s2 else { return false }
        return keys.withUnsafeBufferPointer { k in
            memcmp(k.baseAddress! + s1, k.baseAddress! + s2, (e1 - s1) * MemoryLayout<Int32>.size) == 0
        }
    }

    /// Adds an encoded record; the caller has counted it with `beginItem`
    /// (once: the first item of a batch is what wakes the writer).
    mutating func append(record: [UInt8]) {
        records.append((steps.count, record))
    }
}
