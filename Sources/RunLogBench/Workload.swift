// SPDX-License-Identifier: Apache-2.0
import Foundation
import SeededRandom

/// The synthetic training curves the benchmarks share.
///
/// Workload A: `steps` steps of 4 float64 scalars: a decaying noisy loss, a
/// rising accuracy, a cosine learning rate from 3e-4, and a log-normal
/// gradient norm. Deterministic for a given seed.
struct WorkloadA {
    static let keys = ["loss", "accuracy", "lr", "grad_norm"]
    let steps: Int
    private(set) var loss: [Double] = []
    private(set) var accuracy: [Double] = []
    private(set) var lr: [Double] = []
    private(set) var gradNorm: [Double] = []

    init(steps: Int, seed: UInt64 = 1) {
        self.steps = steps
        var rng = SplitMix64(seed: seed)
        let n = Double(steps)
        loss.reserveCapacity(steps)
        for i in 0..<steps {
            let x = Double(i)
            loss.append(2.5 * exp(-x / (n / 4)) + 0.1 + 0.05 * rng.gaussian())
            accuracy.append(min(1, max(0, 1 - 0.9 * exp(-x / (n / 5)) + 0.01 * rng.gaussian())))
            lr.append(3e-4 * 0.5 * (1 + cos(Double.pi * x / n)))
            gradNorm.append(exp(0.5 * rng.gaussian()))
        }
    }

    /// The 4 values of step `i`, in `keys` order.
    func row(_ i: Int) -> (Double, Double, Double, Double) { (loss[i], accuracy[i], lr[i], gradNorm[i]) }
}

/// Values for histogram benchmarks: `count` normally distributed float32 weights.
func weights(count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float(0.05 * rng.gaussian()) }
}


/// Timing helpers: wall seconds and process CPU seconds.
enum Clock {
    static func wall() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func cpu() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// The median of `repetitions` runs of `body`, with the min and max, in
    /// seconds of this process's CPU time (`cpu: true`, robust on a shared
    /// machine for single-threaded work) or of wall time.
    static func measure(repetitions: Int, cpu: Bool = true, _ body: () throws -> Void) rethrows -> (median: Double, min: Double, max: Double) {
        var times: [Double] = []
        let now = cpu ? Clock.cpu : Clock.wall
        for _ in 0..<repetitions {
            let t = now()
            try body()
            times.append(now() - t)
        }
        times.sort()
        return (times[times.count / 2], times.first!, times.last!)
    }
}

/// Formats a figure with a thousands separator and fixed decimals, locale-independently.
func figure(_ x: Double, decimals: Int = 0) -> String {
    let s = String(format: "%.\(decimals)f", x)
    let parts = s.split(separator: ".", maxSplits: 1)
    var intPart = String(parts[0])
    let negative = intPart.hasPrefix("-")
    if negative { intPart.removeFirst() }
    var grouped = ""
    for (i, c) in intPart.reversed().enumerated() {
        if i > 0 && i % 3 == 0 { grouped.append(",") }
        grouped.append(c)
    }
    let result = (negative ? "-" : "") + String(grouped.reversed())
    return parts.count > 1 ? result + "." + parts[1] : result
}
