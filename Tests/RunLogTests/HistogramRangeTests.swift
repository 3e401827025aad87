// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import RunLog

/// Values whose range the bins cannot divide as they are: one value too
/// large for a width of one around it, neighbours a few ULPs apart, a range
/// as wide as the doubles go. Each gives a histogram in a finite, non-empty
/// range that counts every finite value once; none traps the process.
@Suite struct HistogramRangeTests {
    static let cases: [[Double]] = [
        [1e17, 1e17], [1e300], [Double.greatestFiniteMagnitude], [-Double.greatestFiniteMagnitude, Double.greatestFiniteMagnitude],
        [1.0, 1.0.nextUp], [1.0, 1.0.nextUp, 1.0.nextUp.nextUp], [-1e308, 1e308, 0], [.leastNonzeroMagnitude, 2 * .leastNonzeroMagnitude], [0, 0], [1e17, 1e17 + 16],
    ]

    @Test(arguments: cases) func aRangeTheBinsCannotDivideStillGivesEveryValueABin(values: [Double]) {
        for bins in [1, 2, 64, 1000] {
            let h = values.withUnsafeBufferPointer { HistogramBuilder.make(key: "k", step: 0, time: 0, values: $0, bins: bins) }
            guard case .uniform(let low, let high) = h.bins else {
                Issue.record("uniform bins expected")
                continue
            }
            #expect(low.isFinite && high.isFinite && low < high, "\(values) bins \(bins): \(low)...\(high)")
            #expect(low <= values.min()! && values.max()! <= high, "\(values) bins \(bins): \(low)...\(high)")
            #expect(h.counts.reduce(0, +) == UInt64(values.count) && h.count == UInt64(values.count), "\(values) bins \(bins)")
        }
        let floats = values.map(Float.init).filter(\.isFinite)
        let h = floats.withUnsafeBufferPointer { HistogramBuilder.make(key: "k", step: 0, time: 0, values: $0, bins: 64) }
        #expect(h.counts.reduce(0, +) == UInt64(floats.count))
    }

    @Test func anOrdinaryRangeIsKeptAsItIs() {
        #expect(HistogramBuilder.range(-1, 3, bins: 64) == (-1, 3))
        #expect(HistogramBuilder.range(2, 2, bins: 64) == (1.5, 2.5))
        // The Python client's ranges for the same values (runlog.Histogram, 64 bins).
        #expect(HistogramBuilder.range(1e17, 1e17, bins: 64) == (9.999999999998862e+16, 1.0000000000001138e+17))
        #expect(HistogramBuilder.range(1, 1.0000000000000002, bins: 64) == (0.5, 1.5000000000000002))
        #expect(HistogramBuilder.range(.greatestFiniteMagnitude, .greatestFiniteMagnitude, bins: 64)
            == (1.7976931348621113e+308, .greatestFiniteMagnitude))
        let values: [Double] = [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]
        let h = values.withUnsafeBufferPointer { HistogramBuilder.make(key: "k", step: 0, time: 0, values: $0, bins: 4) }
        #expect(h.counts == [2, 2, 2, 3])
    }
}
