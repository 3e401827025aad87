// SPDX-License-Identifier: Apache-2.0
/// Summarises values into a histogram record (spec `format.md` §4.4).
enum HistogramBuilder {
    /// A histogram of `values` with `bins` uniform bins from the smallest to
    /// the largest finite value (widened by 0.5 on each side when they are
    /// equal). NaN and infinities are counted in `nonfinite` and no bin.
    static func make<T: BinaryFloatingPoint>(key: String, step: Int64, time: Int64, values: UnsafeBufferPointer<T>, bins: Int)
        -> Histogram
    {
        let b = max(1, bins)
        var count: UInt64 = 0
        var nonfinite: UInt64 = 0
        var lo = Double.infinity
        var hi = -Double.infinity
        var sum = 0.0
        var sumSquares = 0.0
        for v in values {
            guard v.isFinite else {
                nonfinite += 1
                continue
            }
            let d = Double(v)
            count += 1
            lo = Swift.min(lo, d)
            hi = Swift.max(hi, d)
            sum += d
            sumSquares += d * d
        }
        var counts = [UInt64](repeating: 0, count: b)
        var low = 0.0
        var high = 0.0
        if count > 0 {
            (low, high) = range(lo, hi, bins: b)
            // In halves, so that a range as wide as the doubles go stays finite.
            let scale = Double(b) / (high / 2 - low / 2)
            for v in values where v.isFinite {
                let x = (Double(v) / 2 - low / 2) * scale
                counts[x < Double(b) ? Swift.max(Int(x), 0) : b - 1] += 1
            }
        }
        var h = Histogram(key: key, step: step, time: time, bins: .uniform(low: low, high: high), counts: counts)
        h.count = count
        h.nonfinite = nonfinite
        if count > 0 {
            h.min = lo
            h.max = hi
        }
        h.sum = sum
        h.sumSquares = sumSquares
        return h
    }

    /// The bins' range for values from `lo` to `hi`, as the Python client
    /// takes it: one value is widened by 0.5 on each side (numpy's rule), and
    /// a range too narrow for `bins` distinct edges (values a few ULPs
    /// apart, or one value so large that 0.5 is below its precision) by
    /// enough to make them distinct. Never empty, never infinite.
    static func range(_ lo: Double, _ hi: Double, bins: Int) -> (low: Double, high: Double) {
        let (low, high) = lo < hi ? (lo, hi) : (lo - 0.5, hi + 0.5)
        let magnitude = abs(low) / 2 + abs(high) / 2  // halves: no overflow
        guard (high / 2 - low / 2) / Double(bins) <= magnitude * 0x1p-50 else { return (low, high) }
        let half = Swift.max(0.5, magnitude * (2 * Double(bins) * 0x1p-50))
        return (Swift.max(low - half, -Double.greatestFiniteMagnitude), Swift.min(high + half, Double.greatestFiniteMagnitude))
    }
}
