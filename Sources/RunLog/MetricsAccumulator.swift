/// Collects metrics rows by column, keyed by the run's key ids, into one
/// `MetricsBlock`, and keeps an upper bound of the block's encoded size so
/// that the writer can cut frames under their target.
///
/// It plays the part of `MetricsBlock.Builder` for the writer, without
/// hashing a key string per value: keys arrive as ids.
struct MetricsAccumulator {
    private var steps: [Int64] = []
    private var times: [Int64] = []
    private var columnKey: [Int32] = []
    private var columnValues: [[Double]] = []
    /// Presence bitmaps; empty while a column has a value in every row so far.
    private var columnBitmap: [[UInt8]] = []
    private var columnDense: [Bool] = []
    private var columnLastRow: [Int] = []
    /// Key id to local column, -1 when the key is not in the block.
    private var local: [Int32] = []
    private var varintBytes = 0
    private var keyBytes = 0
    private var points = 0
    private var lastStep: Int64 = 0
    private var lastTime: Int64 = 0

    var isEmpty: Bool { steps.isEmpty }
    var rowCount: Int { steps.count }

    /// An upper bound of the encoded record (kind, length and body) with `rows`
    /// rows, `columns` columns, `extraVarint` more varint bytes, `extraKeys`
    /// more key bytes and `extraPoints` more values.
    private func bound(rows: Int, columns: Int, extraVarint: Int, extraKeys: Int, extraPoints: Int) -> Int {
        29 + keyBytes + extraKeys + varintBytes + extraVarint + columns * (13 + (rows + 7) / 8) + 8 * (points + extraPoints)
    }

    /// Upper bound of the encoded record as it stands.
    var encodedBound: Int {
        isEmpty ? 0 : bound(rows: steps.count, columns: columnKey.count, extraVarint: 0, extraKeys: 0, extraPoints: 0)
    }

    /// Upper bound of the encoded record once the row is added.
    func boundAdding(step: Int64, time: Int64, keys: UnsafeBufferPointer<Int32>, names: [String]) -> Int {
        var newColumns = 0
        var newKeyBytes = 0
        for id in keys where Int(id) >= local.count || local[Int(id)] < 0 {
            newColumns += 1
            newKeyBytes += names[Int(id)].utf8.count + 6
        }
        let v = Self.varintSize(zigzag(step &- lastStep)) + Self.varintSize(zigzag(time &- lastTime))
        return bound(
            rows: steps.count + 1, columns: columnKey.count + newColumns, extraVarint: v, extraKeys: newKeyBytes,
            extraPoints: keys.count)
    }

    mutating func append(step: Int64, time: Int64, keys: UnsafeBufferPointer<Int32>, values: UnsafeBufferPointer<Double>, names: [String]) {
        let row = steps.count
        varintBytes += Self.varintSize(zigzag(step &- lastStep)) + Self.varintSize(zigzag(time &- lastTime))
        lastStep = step
        lastTime = time
        steps.append(step)
        times.append(time)
        for i in 0..<keys.count {
            let id = Int(keys[i])
            if id >= local.count { local.append(contentsOf: repeatElement(-1, count: id + 1 - local.count)) }
            var j = Int(local[id])
            if j < 0 {
                j = columnKey.count
                local[id] = Int32(j)
                columnKey.append(Int32(id))
                columnValues.append([])
                columnBitmap.append([])
                columnDense.append(row == 0)
                columnLastRow.append(-1)
                keyBytes += names[id].utf8.count + 6
            }
            if columnLastRow[j] == row {  // a key repeated in one row: the last value wins
                columnValues[j][columnValues[j].count - 1] = values[i]
                continue
            }
            columnLastRow[j] = row
            if columnDense[j] && columnValues[j].count != row {
                columnDense[j] = false
                columnBitmap[j] = Self.bitmap(firstRows: columnValues[j].count)
            }
            columnValues[j].append(values[i])
            points += 1
            if !columnDense[j] {
                let byte = row >> 3
                if columnBitmap[j].count <= byte {
                    columnBitmap[j].append(contentsOf: repeatElement(0, count: byte + 1 - columnBitmap[j].count))
                }
                columnBitmap[j][byte] |= 1 << UInt8(row & 7)
            }
        }
    }

    /// The block collected so far, which is then emptied; nil when empty.
    mutating func build(names: [String]) -> MetricsBlock? {
        guard !steps.isEmpty else { return nil }
        let n = steps.count
        var columns: [MetricsBlock.Column] = []
        columns.reserveCapacity(columnKey.count)
        for j in columnKey.indices {
            if columnValues[j].count == n {
                columns.append(MetricsBlock.Column(values: columnValues[j]))
            } else {
                var bitmap = columnDense[j] ? Self.bitmap(firstRows: columnValues[j].count) : columnBitmap[j]
                bitmap.append(contentsOf: repeatElement(0, count: (n + 7) / 8 - bitmap.count))
                columns.append(MetricsBlock.Column(values: columnValues[j], presence: bitmap))
            }
        }
        let block = MetricsBlock(keys: columnKey.map { names[Int($0)] }, steps: steps, times: times, columns: columns)
        for id in columnKey { local[Int(id)] = -1 }
        let keep = local
        self = MetricsAccumulator()
        local = keep
        return block
    }

    /// A bitmap with rows `0..<count` set.
    private static func bitmap(firstRows count: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0xFF, count: count / 8)
        if count % 8 != 0 { b.append(UInt8((1 << (count % 8)) - 1)) }
        return b
    }

    @inline(__always) static func varintSize(_ v: UInt64) -> Int { max(1, (64 - v.leadingZeroBitCount + 6) / 7) }
}

@inline(__always) private func zigzag(_ n: Int64) -> UInt64 { UInt64(bitPattern: (n << 1) ^ (n >> 63)) }
