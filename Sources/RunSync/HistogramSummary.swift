// SPDX-License-Identifier: Apache-2.0
import RunLayout

/// One key's histograms over a run, in bounded memory: for a downsampled
/// set of them, the percentiles TensorBoard's Distributions view draws.
///
/// Histograms are numbered in the order they are added. While at most
/// `capacity` of them are kept, each is; past that, only every `stride`-th
/// (numbers that are multiples of `stride`), `stride` doubling each time
/// the kept ones would exceed `capacity`. The latest histogram is always
/// shown too. So the summary depends only on the sequence of histograms
/// added, never on when they were added: the same log always gives the
/// same summary, however often and wherever syncd was stopped.
struct HistogramSummary: Equatable {
    /// At most this many points are kept (plus the latest).
    static let capacity = 256
    /// TensorBoard's Distributions view: minimum, ±1.5σ, ±1σ, ±0.5σ of a
    /// normal distribution, median, maximum (in percent).
    static let percentiles: [Double] = [0, 6.68, 15.87, 30.85, 50, 69.15, 84.13, 93.32, 100]

    /// One histogram, as shown: its step, time (µs), count of finite
    /// values, and the value at each of `percentiles`.
    struct Point: Equatable {
        var index: Int
        var step: Int64
        var time: Int64
        var count: UInt64
        var values: [Double]
    }

    private(set) var kept: [Point] = []
    private(set) var latest: Point?
    private(set) var stride = 1
    /// Histograms added, empty ones included.
    private(set) var added = 0

    /// Adds the next histogram of the key. One without finite values, or
    /// whose bins give no finite percentile, counts but is not shown.
    mutating func add(_ h: Histogram) {
        let index = added
        added += 1
        guard let values = Self.percentileValues(h) else { return }
        let point = Point(index: index, step: h.step, time: h.time, count: h.count, values: values)
        latest = point
        guard index % stride == 0 else { return }
        kept.append(point)
        while kept.count > Self.capacity {
            stride *= 2
            kept.removeAll { $0.index % stride != 0 }
        }
    }

    /// The points to show, in the order added: the kept ones and the latest.
    var shown: [Point] {
        guard let latest, kept.last?.index != latest.index else { return kept }
        return kept + [latest]
    }

    /// The values at `percentiles` of `h`, interpolated linearly within
    /// bins and clamped to its minimum and maximum; nil when it has no
    /// finite value or its bins give none.
    static func percentileValues(_ h: Histogram) -> [Double]? {
        let total = h.counts.reduce(0.0) { $0 + Double($1) }
        guard h.count > 0, total > 0, h.min.isFinite, h.max.isFinite, h.min <= h.max else { return nil }
        let bins = h.counts.count
        func edge(_ i: Int) -> Double {
            switch h.bins {
            case .uniform(let low, let high): return low + (high - low) * Double(i) / Double(bins)
            case .edges(let e): return e[Swift.min(i, e.count - 1)]
            }
        }
        var out: [Double] = []
        out.reserveCapacity(percentiles.count)
        var below = 0.0, bin = 0
        for p in percentiles {
            let rank = total * p / 100
            while bin < bins - 1 && below + Double(h.counts[bin]) < rank { below += Double(h.counts[bin]); bin += 1 }
            let inBin = Double(h.counts[bin])
            let lo = edge(bin), hi = edge(bin + 1)
            var v = inBin > 0 ? lo + (hi - lo) * Swift.min(1, Swift.max(0, (rank - below) / inBin)) : lo
            if p == 0 { v = h.min } else if p == 100 { v = h.max }
            v = Swift.min(h.max, Swift.max(h.min, v))
            guard v.isFinite else { return nil }
            out.append(v)
        }
        return out
    }
}
