// SPDX-License-Identifier: Apache-2.0
/// Gathers consecutive metrics rows of a batch into one `MetricsBlock`, and
/// keeps an upper bound of the block's encoded size so that the writer can
/// cut frames under their target.
///
/// It plays the part of `MetricsBlock.Builder` for the writer, without
/// hashing a key string per value (keys arrive as ids) and without copying
/// values until the block is built: rows stay in the batch. When every row
/// of the block has the same keys in the same order, which is how training
/// loops log, the columns are a strided copy of the batch.
struct MetricsAccumulator {
    private var firstRow = 0
    private var endRow = 0
    /// Key ids in order of first appearance: the block's key table.
    private var columnKey: [Int32] = []
    /// Key id to local column, -1 when the key is not in the block.
    private var local: [Int32] = []
    /// Every row so far has the keys of the first row, in order, none repeated.
    private var uniform = true
    private var varintBytes = 0
    private var keyBytes = 0
    private var points = 0
    private var lastStep: Int64 = 0
    private var lastTime: Int64 = 0

    var isEmpty: Bool { endRow == firstRow }

    /// An upper bound of the encoded record (kind, length and body).
    private func bound(rows: Int, columns: Int, varint: Int, keys: Int, points: Int) -> Int {
        29 + keys + varint + columns * (13 + (rows + 7) / 8) + 8 * points
    }

    /// Upper bound of the encoded record once row `row` of `batch` is added.
    func boundAdding(row: Int, of batch: Batch, names: [String]) -> Int {
        let (start, end) = batch.range(ofRow: row)
        var newColumns = 0
        var newKeyBytes = 0
        if isEmpty || !batch.sameKeys(row, row - 1) {
            for i in start..<end {
                let id = Int(batch.keys[i])
                if id >= local.count || local[id] < 0 {
                    newColumns += 1
                    newKeyBytes += names[id].utf8.count + 6
                }
            }
        }
        let v = Self.deltaSize(batch.steps[row], isEmpty ? 0 : lastStep) + Self.deltaSize(batch.times[row], isEmpty ? 0 : lastTime)
        return bound(
            rows: endRow - firstRow + 1, columns: columnKey.count + newColumns, varint: varintBytes + v,
            keys: keyBytes + newKeyBytes, points: points + end - start)
    }

    /// Adds row `row` of `batch`: the row right after the last one added, or any row when empty.
    mutating func add(row: Int, of batch: Batch, names: [String]) {
        let (start, end) = batch.range(ofRow: row)
        let wasEmpty = isEmpty
        if wasEmpty {
            firstRow = row
            lastStep = 0
            lastTime = 0
        }
        if wasEmpty || !batch.sameKeys(row, row - 1) {
            if !wasEmpty { uniform = false }
            for i in start..<end {
                let id = Int(batch.keys[i])
                if id >= local.count { local.append(contentsOf: repeatElement(-1, count: id + 1 - local.count)) }
                if local[id] < 0 {
                    local[id] = Int32(columnKey.count)
                    columnKey.append(Int32(id))
                    keyBytes += names[id].utf8.count + 6
                } else if wasEmpty {
                    uniform = false  // a key repeated in the first row
                }
            }
        }
        varintBytes += Self.deltaSize(batch.steps[row], lastStep) + Self.deltaSize(batch.times[row], lastTime)
        lastStep = batch.steps[row]
        lastTime = batch.times[row]
        points += end - start
        endRow = row + 1
    }

    /// The block of the rows added, which are then forgotten; nil when empty.
    mutating func build(from batch: Batch, names: [String]) -> MetricsBlock? {
        guard !isEmpty else { return nil }
        let rows = firstRow..<endRow
        let columns = uniform ? uniformColumns(batch, rows) : generalColumns(batch, rows)
        let block = MetricsBlock(
            keys: columnKey.map { names[Int($0)] }, steps: Array(batch.steps[rows]), times: Array(batch.times[rows]), columns: columns)
        for id in columnKey { local[Int(id)] = -1 }
        columnKey.removeAll(keepingCapacity: true)
        uniform = true
        varintBytes = 0
        keyBytes = 0
        points = 0
        firstRow = 0
        endRow = 0
        return block
    }

    /// Every row holds the same k keys in order: column j is every k-th value.
    private func uniformColumns(_ batch: Batch, _ rows: Range<Int>) -> [MetricsBlock.Column] {
        let k = columnKey.count
        let n = rows.count
        let base = batch.range(ofRow: rows.lowerBound).start
        return batch.values.withUnsafeBufferPointer { values in
            (0..<k).map { j in
                MetricsBlock.Column(values: [Double](unsafeUninitializedCapacity: n) { out, count in
                    var at = base + j
                    for i in 0..<n {
                        out[i] = values[at]
                        at += k
                    }
                    count = n
                })
            }
        }
    }

    /// Rows with differing keys: columns with presence bitmaps where a row lacks the key.
    private func generalColumns(_ batch: Batch, _ rows: Range<Int>) -> [MetricsBlock.Column] {
        let k = columnKey.count
        let n = rows.count
        var values = [[Double]](repeating: [], count: k)
        var bitmaps = [[UInt8]](repeating: [UInt8](repeating: 0, count: (n + 7) / 8), count: k)
        var lastRow = [Int](repeating: -1, count: k)
        for (i, row) in rows.enumerated() {
            let (start, end) = batch.range(ofRow: row)
            for at in start..<end {
                let j = Int(local[Int(batch.keys[at])])
                if lastRow[j] == i {  // a key repeated in one row: the last value wins
                    values[j][values[j].count - 1] = batch.values[at]
                    continue
                }
                lastRow[j] = i
                values[j].append(batch.values[at])
                bitmaps[j][i >> 3] |= 1 << UInt8(i & 7)
            }
        }
        return (0..<k).map { j in
            MetricsBlock.Column(values: values[j], presence: values[j].count == n ? nil : bitmaps[j])
        }
    }

    @inline(__always) static func deltaSize(_ x: Int64, _ previous: Int64) -> Int {
        let d = x &- previous
        let v = UInt64(bitPattern: (d << 1) ^ (d >> 63))
        return max(1, (64 - v.leadingZeroBitCount + 6) / 7)
    }
}
