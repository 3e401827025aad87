// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RunSync

#if canImport(Glibc)
import Glibc
#endif

/// The daemon: the engine on this thread until SIGTERM or SIGINT, a
/// restart with the re-read config on SIGHUP.
///
/// # One concurrency model: threads
///
/// syncd is plain threads, without an async shell around them:
/// - Everything it does blocks: libcurl transfers, reads of logs, `fsync`
///   of state files, `poll` on inotify. Swift concurrency's cooperative
///   pool must never be blocked, so async services would only wrap threads
///   (as they once did) and add a second way to stop.
/// - Every wait is bounded and can be cut short: workers wait on the
///   engine's condition variable, backoffs on `Pause`, the watcher in `poll`
///   with a timeout of at most a second, requests in flight through
///   libcurl's progress callback (`HTTPClient.cancel`).
/// - Signals are taken by one thread with `sigwait`: SIGTERM, SIGINT and
///   SIGHUP are blocked in every thread syncd starts, so none of them can
///   interrupt a worker. The signal thread only calls `SyncEngine.stop`,
///   which sets a flag, wakes every wait, and lets a request in flight
///   finish within the grace time before it is abandoned.
/// - Shutdown is then the engine's `run` returning on this thread once its
///   workers are joined; the command returns and `main` exits with the
///   status, the one way syncd exits (`ShutdownDeadline` is the bound if a
///   thread is stuck in a call nothing can interrupt).
final class SyncService: @unchecked Sendable {
    private var settings: SyncSettings
    private let options: SettingsOptions
    private let logger: Logger
    private let lock = NSLock()
    private var engine: SyncEngine?
    private var reloading = false
    private var stopping = false

    init(settings: SyncSettings, options: SettingsOptions, logger: Logger) {
        self.settings = settings
        self.options = options
        self.logger = logger
    }

    /// Blocks SIGTERM, SIGINT and SIGHUP in this thread (and so in every
    /// thread started from it later); call before starting any.
    static func blockSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        return set
    }

    /// Syncs until SIGTERM or SIGINT; throws a fatal engine error.
    func run() throws(SyncError) {
        let signals = Self.blockSignals()
        let waiter = Thread { [self] in takeSignals(signals) }
        waiter.name = "syncd-signals"
        waiter.start()
        while true {
            let engine = try SyncEngine(settings: settings, logger: logger)
            let stopNow = lock.withLock { () -> Bool in
                self.engine = engine
                reloading = false
                return stopping
            }
            if stopNow { engine.stop(grace: settings.shutdownGrace) }
            try engine.run(ready: { Notify.send("READY=1") })
            engine.releaseStateLock()
            guard lock.withLock({ reloading && !stopping }) else { break }
            do {
                settings = try options.settings()
                logger.info("reloaded the config: \(settings.roots.joined(separator: ", ")) → \(settings.mlflowURL)")
            } catch {
                logger.error("reload failed, keeping the old config: \(error.message)")
            }
        }
        logger.info("stopped; cursors saved")
    }

    /// The signal thread: waits for the blocked signals and acts on them.
    private func takeSignals(_ set: sigset_t) {
        var set = set
        while true {
            var signal: Int32 = 0
            guard sigwait(&set, &signal) == 0 else { continue }
            if signal == SIGHUP {
                reload()
            } else {
                shutdown()
            }
        }
    }

    private func shutdown() {
        let grace = settings.shutdownGrace
        let engine = lock.withLock { () -> SyncEngine? in
            let first = !stopping
            stopping = true
            return first ? self.engine : nil
        }
        guard let engine else { return }
        logger.info("stopping: finishing the request in flight (at most \(grace) s)")
        Notify.send("STOPPING=1")
        ShutdownDeadline.arm(grace: grace, logger: logger)
        engine.stop(grace: grace)
    }

    private func reload() {
        logger.info("SIGHUP: reloading the config")
        Notify.send("RELOADING=1")
        let engine = lock.withLock { () -> SyncEngine? in
            reloading = true
            return self.engine
        }
        engine?.stop(grace: settings.shutdownGrace)
    }
}

/// sd_notify(3): a datagram to `$NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
enum Notify {
    static func send(_ message: String) {
        guard let path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in bytes.enumerated() { p[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        _ = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withCString { sendto(fd, $0, strlen($0), 0, sa, len) }
            }
        }
    }
}
