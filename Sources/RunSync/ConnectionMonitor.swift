// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging

/// Whether the server answers, as the requests of every worker see it: logs
/// once when it stops answering and once when it answers again, and, when
/// given a limit (`syncd --once`), gives up after that many seconds without
/// a single success.
public final class ConnectionMonitor: @unchecked Sendable {
    /// Seconds of failures without a success after which `failed` throws
    /// `.unreachable`; nil to retry for ever (the daemon).
    public let giveUpAfter: Double?
    private let server: String
    private let logger: Logger
    private let lock = NSLock()
    private var downSince: Date?

    public init(server: String, giveUpAfter: Double?, logger: Logger) {
        self.server = server
        self.giveUpAfter = giveUpAfter
        self.logger = logger
    }

    /// Notes a request that failed with a retryable error. Throws
    /// `.unreachable` once failures have lasted `giveUpAfter` seconds.
    func failed(_ error: SyncError, now: Date = Date()) throws(SyncError) {
        let since: Date = lock.withLock {
            if let downSince { return downSince }
            downSince = now
            logger.warning("MLflow at \(server) does not answer: \(error.message); retrying until it does")
            return now
        }
        guard let giveUpAfter, now.timeIntervalSince(since) >= giveUpAfter else { return }
        throw SyncError(.unreachable, "MLflow at \(server) did not answer for \(Int(giveUpAfter.rounded())) s (--give-up-after): \(error.message)")
    }

    /// Seconds left before giving up, for a wait between retries not to overshoot; nil without a limit.
    func remaining(now: Date = Date()) -> Double? {
        guard let giveUpAfter else { return nil }
        let since = lock.withLock { downSince } ?? now
        return max(0.05, giveUpAfter - now.timeIntervalSince(since))
    }

    /// Notes a request that got an answer: after failures, says once that the server is back.
    func succeeded(now: Date = Date()) {
        lock.withLock {
            guard let since = downSince else { return }
            downSince = nil
            logger.notice("MLflow at \(server) answers again (it did not for \(HumanText.fixed(now.timeIntervalSince(since), digits: 1)) s)")
        }
    }
}
