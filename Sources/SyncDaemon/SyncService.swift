// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RunSync
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The daemon as a service: runs the engine on its own threads, stops it on
/// graceful shutdown (SIGTERM), and on SIGHUP reloads the config and
/// restarts it (cursors are saved after each request, so a restart loses nothing).
final class SyncService: Service, @unchecked Sendable {
    private var settings: SyncSettings
    private let options: SettingsOptions
    private let logger: Logger
    private let lock = NSLock()
    private var engine: SyncEngine?
    private var reloading = false

    init(settings: SyncSettings, options: SettingsOptions, logger: Logger) {
        self.settings = settings
        self.options = options
        self.logger = logger
    }

    func run() async throws {
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP)
        hup.setEventHandler { [self] in reload() }
        hup.resume()
        defer { hup.cancel() }
        while true {
            let engine = try SyncEngine(settings: settings, logger: logger)
            lock.withLock {
                self.engine = engine
                reloading = false
            }
            let grace = settings.shutdownGrace
            try await withGracefulShutdownHandler {
                try await Self.runOnThread(engine, ready: { Notify.send("READY=1") })
            } onGracefulShutdown: { [logger] in
                logger.info("stopping: finishing the request in flight (at most \(grace) s)")
                Notify.send("STOPPING=1")
                ShutdownDeadline.arm(grace: grace, logger: logger)
                engine.stop(grace: grace)
            }
            engine.releaseStateLock()
            guard lock.withLock({ reloading }) else { break }
            do {
                settings = try options.settings()
                logger.info("reloaded the config: \(settings.roots.joined(separator: ", ")) → \(settings.mlflowURL)")
            } catch {
                logger.error("reload failed, keeping the old config: \(error.message)")
            }
        }
        logger.info("stopped; cursors saved")
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

    /// Runs the blocking engine on a thread of its own.
    static func runOnThread(_ engine: SyncEngine, ready: @escaping @Sendable () -> Void) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            let t = Thread {
                do {
                    try engine.run(ready: ready)
                    c.resume()
                } catch {
                    c.resume(throwing: error)
                }
            }
            t.name = "syncd-engine"
            t.start()
        }
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
