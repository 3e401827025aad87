// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import RunSync

/// The line `syncd --once` keeps up to date on standard error while it
/// works: runs and metric points done of the total, and the rate. Log lines
/// erase it before they are written; the next tick draws it again.
final class ProgressLine: @unchecked Sendable {
    static let shared = ProgressLine()

    private let lock = NSLock()
    private var shown = false
    private var running = false

    /// Draws `engine`'s progress every `interval` seconds until `stop`, which draws it a last time and ends the line.
    func start(_ engine: SyncEngine, totalPoints: Int, interval: Double = 0.5) -> () -> Void {
        let started = Date()
        let done = DispatchSemaphore(value: 0)
        lock.withLock { running = true }
        Thread.detachNewThread { [self] in
            while lock.withLock({ running }) {
                draw(Self.text(engine.progress, totalPoints: totalPoints, seconds: Date().timeIntervalSince(started)))
                Thread.sleep(forTimeInterval: interval)
            }
            done.signal()
        }
        return { [self] in
            lock.withLock { running = false }
            done.wait()
            draw(Self.text(engine.progress, totalPoints: totalPoints, seconds: Date().timeIntervalSince(started)))
            lock.withLock {
                write("\n")
                shown = false
            }
        }
    }

    /// `syncd: runs 3/10, points 12345/50000 (24.7%), 2950 points/s`.
    static func text(_ p: SyncEngine.Progress, totalPoints: Int, seconds: Double) -> String {
        let total = max(totalPoints, p.pointsSent)
        let percent = total > 0 ? HumanText.fixed(100 * Double(p.pointsSent) / Double(total), digits: 1) : "100.0"
        let rate = seconds > 0 ? Int((Double(p.pointsSent) / seconds).rounded()) : 0
        return "syncd: runs \(p.runsDone)/\(p.runs), points \(p.pointsSent)/\(total) (\(percent)%), \(rate) points/s"
    }

    private func draw(_ text: String) {
        lock.withLock {
            write("\r" + text + "\u{1B}[K")
            shown = true
        }
    }

    /// Runs `body` (which writes a log line) with the progress line erased.
    func around(_ body: () -> Void) {
        lock.withLock {
            if shown {
                write("\r\u{1B}[K")
                shown = false
            }
            body()
        }
    }

    private func write(_ s: String) {
        var s = s
        s.withUTF8 { raw in _ = Glibc.write(2, raw.baseAddress, raw.count) }
    }
}

/// A log handler that erases the progress line before each line it writes.
struct ProgressAwareLogHandler: LogHandler {
    var inner: StreamLogHandler

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        ProgressLine.shared.around { inner.log(event: event) }
    }
}
