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

    mutating func append(record: [UInt8]) {
        beginItem(bytes: record.count + 32)
        records.append((steps.count, record))
    }
}
