// SPDX-License-Identifier: Apache-2.0
/// Exponential backoff with full jitter ("Exponential Backoff And Jitter",
/// AWS Architecture Blog): the n-th wait is uniform in [0, min(cap, base·2ⁿ)],
/// and never shorter than what the server asked for with `Retry-After`
/// (itself capped at `maxRetryAfter`).
public struct Backoff: Sendable {
    public var base: Double = 0.2
    public var cap: Double = 30
    public var maxRetryAfter: Double = 300
    public private(set) var attempt = 0

    public init(base: Double = 0.2, cap: Double = 30) {
        self.base = base
        self.cap = cap
    }

    /// Seconds to wait before the next try; counts the try.
    public mutating func next(retryAfter: Double? = nil) -> Double {
        let ceiling = min(cap, base * Double(1 << min(attempt, 30)))
        attempt += 1
        let jitter = Double.random(in: 0...ceiling)
        guard let retryAfter, retryAfter > 0 else { return jitter }
        return max(min(retryAfter, maxRetryAfter), jitter)
    }

    public mutating func reset() { attempt = 0 }
}
