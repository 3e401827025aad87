// SPDX-License-Identifier: Apache-2.0

/// When a replaceable artifact that keeps changing (a histogram picture)
/// may be uploaded again: at once the first time, then once `interval`
/// seconds have passed since the last upload, the interval doubling after
/// each upload from `first` up to `maximum`.
///
/// With the defaults (10 s to 10 minutes) the uploads fall at 0, 10, 30,
/// 70, 150, 310 and 630 s, then every 600 s or more: at most 7 + t / 600
/// uploads in the first t seconds.
struct RefreshSchedule: Equatable {
    static let defaultFirst = 10.0, defaultMaximum = 600.0

    private(set) var interval: Double
    let maximum: Double
    private(set) var lastUpload = -Double.infinity

    init(first: Double = Self.defaultFirst, maximum: Double = Self.defaultMaximum) {
        interval = first
        self.maximum = maximum
    }

    /// Seconds from `now` until the next upload may go; 0 or less when it may now.
    func wait(now: Double) -> Double { lastUpload + interval - now }

    /// Notes an upload at `now`.
    mutating func uploaded(now: Double) {
        if lastUpload.isFinite { interval = min(interval * 2, maximum) }
        lastUpload = now
    }
}
