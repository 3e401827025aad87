// SPDX-License-Identifier: Apache-2.0
import RunLog

/// Running statistics of one metric key: count, steps, extremes, last value,
/// and a fixed-size sketch of its curve for a sparkline. Constant memory
/// whatever the number of points.
struct SeriesStats {
    let key: String
    var count = 0
    var firstStep: Int64 = 0
    var lastStep: Int64 = 0
    /// Of the non-NaN values; NaN when there are none.
    var min = Double.nan
    var max = Double.nan
    var last = Double.nan
    var nonfinite = 0
    private var curve = Downsampler()

    init(key: String) { self.key = key }

    /// Adds the values of `column`, a column of a block with these `steps`.
    mutating func add(_ column: MetricsBlock.Column, steps: [Int64]) {
        guard !column.values.isEmpty else { return }
        let first: Int, lastRow: Int
        if column.presence == nil {
            first = 0
            lastRow = steps.count - 1
        } else {
            first = (0..<steps.count).first { column.has(row: $0) }!
            lastRow = (0..<steps.count).last { column.has(row: $0) }!
        }
        if count == 0 { firstStep = steps[first] }
        lastStep = steps[lastRow]
        count += column.values.count
        last = column.values[column.values.count - 1]
        var lo = min, hi = max, bad = 0
        column.values.withUnsafeBufferPointer { values in
            for v in values {
                if v.isFinite {
                    // NaN compares false, so the first finite value replaces a NaN start.
                    if !(v >= lo) { lo = v }
                    if !(v <= hi) { hi = v }
                } else {
                    bad += 1
                    if !v.isNaN {
                        if !(v >= lo) { lo = v }
                        if !(v <= hi) { hi = v }
                    }
                }
            }
            curve.add(values)
        }
        min = lo
        max = hi
        nonfinite += bad
    }

    /// The curve as unicode block characters, at most `Downsampler.width` wide:
    /// flat when every value is the same (their means may still differ in
    /// their last bits once summed and divided).
    var sparkline: String { curve.sparkline(flat: min == max) }
}

/// Keeps the means of a series over at most 2 × `width` consecutive runs of
/// points; when full, neighbouring runs merge and each run covers twice as many.
struct Downsampler {
    static let width = 32
    private var sums: [Double] = []
    private var counts: [Int] = []
    /// Points per run.
    private var per = 1
    private var current = 0.0
    private var currentFinite = 0
    private var currentPoints = 0

    mutating func add(_ values: UnsafeBufferPointer<Double>) {
        var i = 0
        while i < values.count {
            if currentPoints == per { close() }
            let take = Swift.min(per - currentPoints, values.count - i)
            var sum = 0.0, finite = 0
            for k in i..<(i + take) where values[k].isFinite {
                sum += values[k]
                finite += 1
            }
            current += sum
            currentFinite += finite
            currentPoints += take
            i += take
        }
    }

    private mutating func close() {
        sums.append(current)
        counts.append(currentFinite)
        current = 0
        currentFinite = 0
        currentPoints = 0
        if sums.count == 2 * Self.width {
            for k in 0..<Self.width {
                sums[k] = sums[2 * k] + sums[2 * k + 1]
                counts[k] = counts[2 * k] + counts[2 * k + 1]
            }
            sums.removeLast(Self.width)
            counts.removeLast(Self.width)
            per *= 2
        }
    }

    /// Each character is the mean of its share of the points, scaled between
    /// the lowest and highest mean; a space where every value was NaN or
    /// infinite. `flat` (a constant series) draws a line at mid height.
    func sparkline(flat: Bool = false) -> String {
        var s = sums, c = counts
        if currentPoints > 0 {
            s.append(current)
            c.append(currentFinite)
        }
        let n = s.count
        guard n > 0 else { return "" }
        let chars = Swift.min(n, Self.width)
        var means: [Double?] = []
        for i in 0..<chars {
            let range = (i * n / chars)..<((i + 1) * n / chars)
            let total = range.reduce(0.0) { $0 + s[$1] }
            let finite = range.reduce(0) { $0 + c[$1] }
            means.append(finite > 0 ? total / Double(finite) : nil)
        }
        let known = means.compactMap { $0 }
        guard let lo = known.min(), let hi = known.max() else { return String(repeating: " ", count: chars) }
        let bars = Array("▁▂▃▄▅▆▇█")
        return String(means.map { m -> Character in
            guard let m else { return " " }
            guard hi > lo, !flat else { return bars[3] }
            let level = Int(((m - lo) / (hi - lo) * Double(bars.count - 1)).rounded())
            return bars[Swift.max(0, Swift.min(bars.count - 1, level))]
        })
    }
}
