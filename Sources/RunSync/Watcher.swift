// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Tells which runs changed: inotify where the kernel sees the writes (local
/// file systems), and a poll of file sizes on a timer for shared file
/// systems (NFS, Lustre), where inotify misses writes made by other hosts.
///
/// One inotify descriptor for everything; one watch per root, per run
/// directory and per `logs/` directory. A watch that cannot be added (the
/// limit `fs.inotify.max_user_watches` is reached) leaves that run to the poll.
final class Watcher {
    enum Event: Hashable {
        /// Something changed in this run's `logs/` (or its directory appeared).
        case run(String)
        /// A root changed, or events were lost: list the roots again.
        case rescan
    }

    private let fd: Int32
    private var watches: [Int32: Event] = [:]
    private var watched: Set<String> = []
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    init(usingInotify: Bool) {
        fd = usingInotify ? inotify_init1(Int32(0o4000 | 0o2000000)) : -1  // IN_NONBLOCK | IN_CLOEXEC
    }

    deinit { if fd >= 0 { close(fd) } }

    var isActive: Bool { fd >= 0 }

    private static let runMask: UInt32 = 0x2 | 0x8 | 0x100 | 0x80 | 0x200  // MODIFY, CLOSE_WRITE, CREATE, MOVED_TO, DELETE
    private static let dirMask: UInt32 = 0x100 | 0x80  // CREATE, MOVED_TO
    private static let overflow: UInt32 = 0x4000

    func watchRoot(_ root: String) {
        add(root, mask: Self.dirMask, as: .rescan)
    }

    /// Watches a run directory (for `logs/` appearing) and its `logs/`.
    func watchRun(_ path: String) {
        add(path, mask: Self.dirMask, as: .run(path))
        add(path + "/logs", mask: Self.runMask, as: .run(path))
    }

    private func add(_ path: String, mask: UInt32, as event: Event) {
        guard fd >= 0, !watched.contains(path) else { return }
        let wd = inotify_add_watch(fd, path, mask | 0x0100_0000)  // IN_ONLYDIR
        guard wd >= 0 else { return }
        watched.insert(path)
        watches[wd] = event
    }

    /// Waits up to `timeout` seconds for changes; returns those seen.
    func wait(timeout: Double) -> Set<Event> {
        guard fd >= 0 else {
            Thread.sleep(forTimeInterval: max(0, timeout))
            return []
        }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let n = poll(&pfd, 1, Int32(max(0, min(timeout, 3600)) * 1000))
        guard n > 0 else { return [] }
        var events: Set<Event> = []
        while true {
            let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard got > 0 else { break }
            var at = 0
            buffer.withUnsafeBytes { b in
                while at + 16 <= got {
                    let wd = b.loadUnaligned(fromByteOffset: at, as: Int32.self)
                    let mask = b.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)
                    let len = Int(b.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
                    if mask & Self.overflow != 0 {
                        events.insert(.rescan)
                    } else if let e = watches[wd] {
                        events.insert(e)
                        if mask & 0x8000 != 0 { watches[wd] = nil }  // IN_IGNORED: watch gone
                    }
                    at += 16 + len
                }
            }
        }
        return events
    }

    /// Forgets watches whose directories were removed (the kernel dropped them).
    func forget(_ path: String) {
        watched.remove(path)
        watched.remove(path + "/logs")
    }
}
