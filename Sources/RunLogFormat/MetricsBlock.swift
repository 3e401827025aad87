// SPDX-License-Identifier: Apache-2.0
/// A block of metric rows stored by column (spec §4.3).
///
/// Row `i` was logged at `steps[i]` and `times[i]` and holds, for each key
/// `keys[j]` whose column has row `i`, one value.
public struct MetricsBlock: Sendable, Equatable {
    public struct Column: Sendable {
        /// One value per row that has one, in row order.
        public var values: [Double]
        /// Presence bitmap (bit `i % 8` of byte `i / 8` set when row `i` has a
        /// value), or nil when every row has one.
        public var presence: [UInt8]?

        public init(values: [Double], presence: [UInt8]? = nil) {
            self.values = values
            self.presence = presence
        }

        /// Whether row `row` has a value in this column.
        @inlinable
        public func has(row: Int) -> Bool {
            guard let presence else { return true }
            return presence[row >> 3] & (1 << UInt8(row & 7)) != 0
        }
    }

    public var keys: [String]
    public var steps: [Int64]
    /// Microseconds since the Unix epoch.
    public var times: [Int64]
    public var columns: [Column]

    public init(keys: [String], steps: [Int64], times: [Int64], columns: [Column]) {
        self.keys = keys
        self.steps = steps
        self.times = times
        self.columns = columns
    }

    /// A block of rows that all hold every key.
    public init(keys: [String], steps: [Int64], times: [Int64], values: [[Double]]) {
        self.init(keys: keys, steps: steps, times: times, columns: values.map { Column(values: $0) })
    }

    public var rowCount: Int { steps.count }

    /// The number of values in the block.
    public var pointCount: Int { columns.reduce(0) { $0 + $1.values.count } }

    /// Calls `body` with each row's step, time and values in key-table order.
    public func forEachRow(_ body: (_ step: Int64, _ time: Int64, _ values: [(key: String, value: Double)]) throws -> Void)
        rethrows
    {
        var cursors = [Int](repeating: 0, count: columns.count)
        var row: [(key: String, value: Double)] = []
        row.reserveCapacity(keys.count)
        for i in 0..<steps.count {
            row.removeAll(keepingCapacity: true)
            for j in columns.indices where columns[j].has(row: i) {
                row.append((keys[j], columns[j].values[cursors[j]]))
                cursors[j] += 1
            }
            try body(steps[i], times[i], row)
        }
    }

    public static func == (a: MetricsBlock, b: MetricsBlock) -> Bool {
        guard a.keys == b.keys, a.steps == b.steps, a.times == b.times, a.columns.count == b.columns.count else {
            return false
        }
        for (x, y) in zip(a.columns, b.columns) {
            guard x.values.count == y.values.count else { return false }
            for (p, q) in zip(x.values, y.values) where !(p.bitPattern == q.bitPattern || p == q || (p.isNaN && q.isNaN)) {
                return false
            }
            for i in 0..<a.steps.count where x.has(row: i) != y.has(row: i) { return false }
        }
        return true
    }
}

// MARK: - Building

extension MetricsBlock {
    /// Accumulates rows into a block, interning keys.
    public struct Builder: Sendable {
        private var keyIndex: [String: Int] = [:]
        private(set) public var keys: [String] = []
        private var steps: [Int64] = []
        private var times: [Int64] = []
        private var values: [[Double]] = []
        private var bitmaps: [[UInt8]] = []
        private var rowsOfKey: [Int] = []
        /// Estimated encoded size in bytes, before compression.
        private(set) public var estimatedSize = 0

        public init() {}

        public var rowCount: Int { steps.count }
        public var isEmpty: Bool { steps.isEmpty }

        /// Appends a row. A key that appears twice in `values` keeps the last value.
        public mutating func append(step: Int64, time: Int64, values row: some Sequence<(String, Double)>) {
            let i = steps.count
            steps.append(step)
            times.append(time)
            estimatedSize += 4
            for (key, value) in row {
                let j: Int
                if let known = keyIndex[key] {
                    j = known
                } else {
                    j = keys.count
                    keyIndex[key] = j
                    keys.append(key)
                    values.append([])
                    bitmaps.append([])
                    rowsOfKey.append(-1)
                    estimatedSize += key.utf8.count + 4
                }
                if rowsOfKey[j] == i {  // repeated key in one row: last wins
                    values[j][values[j].count - 1] = value
                    continue
                }
                rowsOfKey[j] = i
                values[j].append(value)
                let byte = i >> 3
                if bitmaps[j].count <= byte { bitmaps[j].append(contentsOf: repeatElement(0, count: byte + 1 - bitmaps[j].count)) }
                bitmaps[j][byte] |= 1 << UInt8(i & 7)
                estimatedSize += 8
            }
        }

        /// The block built so far; the builder is emptied.
        public mutating func build() -> MetricsBlock? {
            guard !steps.isEmpty else { return nil }
            let n = steps.count
            var columns: [Column] = []
            columns.reserveCapacity(keys.count)
            for j in keys.indices {
                if values[j].count == n {
                    columns.append(Column(values: values[j]))
                } else {
                    var bitmap = bitmaps[j]
                    bitmap.append(contentsOf: repeatElement(0, count: (n + 7) / 8 - bitmap.count))
                    columns.append(Column(values: values[j], presence: bitmap))
                }
            }
            let block = MetricsBlock(keys: keys, steps: steps, times: times, columns: columns)
            self = Builder()
            return block
        }
    }
}

// MARK: - Encoding

extension MetricsBlock {
    func encodeBody(into w: inout WireWriter) {
        for key in keys { w.string(1, key, always: true) }
        w.uint(2, UInt64(steps.count), always: true)
        w.bytesField(3, Self.deltaVarints(steps))
        w.bytesField(4, Self.deltaVarints(times))
        for column in columns {
            w.key(5, .lengthDelimited)
            let p = column.values.count
            let float32 = column.values.allSatisfy { v in v.isNaN || Double(Float(v)).bitPattern == v.bitPattern }
            let width = float32 ? 4 : 8
            let bitmapCount = column.presence?.count ?? 0
            w.varint(UInt64(1 + bitmapCount + width * p))
            w.bytes.append((column.presence == nil ? 0 : 1) | (float32 ? 2 : 0))
            if let presence = column.presence { w.bytes.append(contentsOf: presence) }
            let start = w.bytes.count
            w.bytes.append(contentsOf: repeatElement(0, count: width * p))
            w.bytes.withUnsafeMutableBufferPointer { out in
                column.values.withUnsafeBufferPointer { vals in
                    let o = out.baseAddress! + start
                    if float32 {
                        for i in 0..<p {
                            let bits = Float(vals[i]).bitPattern
                            o[i] = UInt8(truncatingIfNeeded: bits)
                            o[p + i] = UInt8(truncatingIfNeeded: bits >> 8)
                            o[2 * p + i] = UInt8(truncatingIfNeeded: bits >> 16)
                            o[3 * p + i] = UInt8(truncatingIfNeeded: bits >> 24)
                        }
                    } else {
                        for i in 0..<p {
                            let bits = vals[i].bitPattern
                            for b in 0..<8 { o[b * p + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt64(b))) }
                        }
                    }
                }
            }
        }
    }

    static func deltaVarints(_ xs: [Int64]) -> [UInt8] {
        var w = WireWriter(capacity: xs.count * 2)
        var previous: Int64 = 0
        for x in xs {
            w.varint(zigzag(x &- previous))
            previous = x
        }
        return w.bytes
    }
}

// MARK: - Decoding

extension MetricsBlock {
    /// Decodes a metrics record body; nil when it is malformed.
    static func decode(_ r: WireReader) -> MetricsBlock? {
        var r = r
        let src = r
        var keys: [String] = []
        var rows: UInt64?
        var stepsRange: Range<Int> = 0..<0
        var timesRange: Range<Int> = 0..<0
        var columnRanges: [Range<Int>] = []
        let ok = r.forEachField { field, value in
            switch field {
            case 1:
                guard let range = value.range else { return false }
                keys.append(src.string(range))
            case 2: rows = value.uint; return rows != nil
            case 3: guard let range = value.range else { return false }; stepsRange = range
            case 4: guard let range = value.range else { return false }; timesRange = range
            case 5: guard let range = value.range else { return false }; columnRanges.append(range)
            default: break
            }
            return true
        }
        guard ok, let n64 = rows, n64 >= 1, !keys.isEmpty, columnRanges.count == keys.count,
            n64 <= UInt64(stepsRange.count)  // each varint takes at least one byte
        else { return nil }
        guard Set(keys).count == keys.count, !keys.contains("") else { return nil }
        let n = Int(n64)
        guard let steps = decodeDeltas(src.sub(stepsRange), count: n),
            let times = decodeDeltas(src.sub(timesRange), count: n)
        else { return nil }
        var columns: [Column] = []
        columns.reserveCapacity(keys.count)
        for range in columnRanges {
            guard let c = decodeColumn(r.base, range, rows: n) else { return nil }
            columns.append(c)
        }
        return MetricsBlock(keys: keys, steps: steps, times: times, columns: columns)
    }

    static func decodeDeltas(_ r: WireReader, count: Int) -> [Int64]? {
        var r = r
        var out = [Int64]()
        out.reserveCapacity(count)
        var previous: Int64 = 0
        for _ in 0..<count {
            guard let v = r.readVarint() else { return nil }
            previous = previous &+ unzigzag(v)
            out.append(previous)
        }
        return r.isAtEnd ? out : nil
    }

    static func decodeColumn(_ base: UnsafeRawBufferPointer, _ range: Range<Int>, rows n: Int) -> Column? {
        guard range.count >= 1 else { return nil }
        let coding = base[range.lowerBound]
        guard coding & ~0b111 == 0 else { return nil }
        let hasBitmap = coding & 1 != 0
        let valueCoding = (coding >> 1) & 3
        guard valueCoding <= 1 else { return nil }
        let width = valueCoding == 1 ? 4 : 8
        var at = range.lowerBound + 1
        var presence: [UInt8]? = nil
        var p = n
        if hasBitmap {
            let bytes = (n + 7) / 8
            guard range.upperBound - at >= bytes else { return nil }
            let bitmap = Array(UnsafeRawBufferPointer(rebasing: base[at..<(at + bytes)]))
            if n % 8 != 0, bitmap[bytes - 1] >> UInt8(n % 8) != 0 { return nil }
            p = bitmap.reduce(0) { $0 + $1.nonzeroBitCount }
            at += bytes
            presence = p == n ? nil : bitmap
        }
        guard range.upperBound - at == width * p else { return nil }
        let values = [Double](unsafeUninitializedCapacity: p) { out, initialized in
            let src = base.baseAddress! + at
            let s = src.assumingMemoryBound(to: UInt8.self)
            if width == 8 {
                for i in 0..<p {
                    var bits: UInt64 = 0
                    for b in 0..<8 { bits |= UInt64(s[b * p + i]) << (8 * UInt64(b)) }
                    out[i] = Double(bitPattern: bits)
                }
            } else {
                for i in 0..<p {
                    let bits = UInt32(s[i]) | UInt32(s[p + i]) << 8 | UInt32(s[2 * p + i]) << 16 | UInt32(s[3 * p + i]) << 24
                    out[i] = Double(Float(bitPattern: bits))
                }
            }
            initialized = p
        }
        return Column(values: values, presence: presence)
    }
}
