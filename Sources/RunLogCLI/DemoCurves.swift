// SPDX-License-Identifier: Apache-2.0
import Foundation
import SeededRandom

/// The curves of `runlog demo`: what a training run looks like, from a seed.
struct DemoCurves {
    let steps: Int
    let peakLR = 0.05
    private var random: SplitMix64

    init(steps: Int, seed: UInt64) {
        self.steps = steps
        random = SplitMix64(seed: seed)
    }

    struct Row {
        var loss, accuracy, lr, gradNorm: Double
    }

    /// Loss decaying towards a floor with noise, accuracy rising to ~0.97,
    /// a cosine learning rate, a noisy gradient norm shrinking with the loss.
    mutating func row(_ step: Int) -> Row {
        let p = Double(step) / Double(max(steps, 1))
        let loss = 2.3 * exp(-4 * p) + 0.08 + 0.04 * (1 - 0.5 * p) * random.gaussian()
        let accuracy = min(1, max(0, 0.97 - 0.87 * exp(-5 * p) + 0.01 * random.gaussian()))
        let lr = peakLR * 0.5 * (1 + cos(Double.pi * p))
        let gradNorm = (1.2 * exp(-2 * p) + 0.3) * exp(0.3 * random.gaussian())
        return Row(loss: max(loss, 0.001), accuracy: accuracy, lr: lr, gradNorm: gradNorm)
    }

    /// 100,000 weights, normally distributed with a spread that settles as training goes on.
    mutating func weights(at step: Int) -> [Float] {
        let p = Double(step) / Double(max(steps, 1))
        let sigma = 0.02 + 0.08 * exp(-3 * p)
        return (0..<100_000).map { _ in Float(sigma * random.gaussian()) }
    }

    /// About 1 MB standing for a model's weights at `step`.
    mutating func checkpointBytes(step: Int) -> Data {
        var data = Data(count: 1 << 20)
        data.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for i in words.indices { words[i] = random.next() }
        }
        return data
    }
}
