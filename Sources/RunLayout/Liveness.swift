// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The liveness file a writer keeps while it runs (spec/run-directory.md §3).
public struct LiveFile: Codable, Sendable, Equatable {
    public var version: Int = 1
    public var host: String
    public var pid: Int32
    public var pidStart: UInt64
    public var bootID: String
    public var locked: Bool
    public var heartbeatInterval: Double

    enum CodingKeys: String, CodingKey {
        case version, host, pid, locked
        case pidStart = "pid_start"
        case bootID = "boot_id"
        case heartbeatInterval = "heartbeat_interval"
    }

    public init(host: String, pid: Int32, pidStart: UInt64, bootID: String, locked: Bool, heartbeatInterval: Double) {
        self.host = host
        self.pid = pid
        self.pidStart = pidStart
        self.bootID = bootID
        self.locked = locked
        self.heartbeatInterval = heartbeatInterval
    }

    /// This process, as its liveness file describes it.
    public static func current(locked: Bool, heartbeatInterval: Double) -> LiveFile {
        LiveFile(
            host: Host.name, pid: getpid(), pidStart: Host.processStartTicks(getpid()) ?? 0,
            bootID: Host.bootID, locked: locked, heartbeatInterval: heartbeatInterval)
    }

    public func encoded() -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return (try? e.encode(self)) ?? Data()
    }

    /// The most a liveness file may hold; a larger one is not read.
    static let maxSize = 64 << 10

    /// The liveness file at `path`; nil when it is missing, not a regular
    /// file (never opened then: a FIFO cannot block the reader), or not valid.
    public static func load(path: String) -> LiveFile? {
        guard let bytes = try? RegularFile.contents(path, limit: maxSize) else { return nil }
        return try? JSONDecoder().decode(LiveFile.self, from: Data(bytes))
    }
}

/// Facts about this machine used to judge liveness.
public enum Host {
    public static let name: String = {
        var buf = [UInt8](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "" }
        return String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)
    }()

    public static let bootID: String = {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }()

    /// Field 22 of /proc/PID/stat: the start time in clock ticks since boot.
    public static func processStartTicks(_ pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may hold spaces) start at field 3.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }
}

/// The status of a run, or of one attempt and rank (spec/run-directory.md §4).
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case running, finished, failed, killed, crashed

    public init(runEnd: RunEnd.Status) {
        switch runEnd {
        case .finished: self = .finished
        case .killed: self = .killed
        default: self = .failed
        }
    }

    /// The status of a run from those of its latest attempt's ranks.
    public static func combine(_ ranks: [RunStatus]) -> RunStatus {
        if ranks.contains(.running) { return .running }
        if ranks.contains(.failed) { return .failed }
        if ranks.contains(.killed) { return .killed }
        if ranks.contains(.crashed) || ranks.isEmpty { return .crashed }
        return .finished
    }
}

/// Decides whether the writer of one attempt and rank is alive, from the disk alone.
public struct LivenessCheck: Sendable {
    /// Seconds after which a heartbeat is stale; nil for 3 × interval + 15 s.
    public var staleAfter: Double?
    /// The current time, for tests.
    public var now: @Sendable () -> Date

    public init(staleAfter: Double? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        self.staleAfter = staleAfter
        self.now = now
    }

    public enum Verdict: Sendable, Equatable {
        case alive(String)
        case gone(String)

        public var isAlive: Bool { if case .alive = self { return true } else { return false } }
    }

    /// Rules 2 to 5 of spec/run-directory.md §4 for the liveness file at
    /// `livePath`, with `logPath` the writer's current log (its mtime counts as a heartbeat).
    public func check(livePath: String, logPath: String?) -> Verdict {
        guard FileManager.default.fileExists(atPath: livePath) else { return .gone("no liveness file") }
        guard let live = LiveFile.load(path: livePath) else {
            // Being written (temporary name renamed in place) or damaged: judge by heartbeat.
            return heartbeat(livePath: livePath, logPath: logPath, interval: 5)
        }
        if live.host == Host.name, !live.bootID.isEmpty, live.bootID == Host.bootID {
            if kill(live.pid, 0) == 0 || errno == EPERM, let ticks = Host.processStartTicks(live.pid),
                live.pidStart == 0 || ticks == live.pidStart
            {
                return .alive("process \(live.pid) is running")
            }
            return .gone("process \(live.pid) is gone")
        }
        if live.locked, let held = Self.lockHeld(path: livePath) {
            return held ? .alive("writer holds its lock") : .gone("writer's lock is released")
        }
        return heartbeat(livePath: livePath, logPath: logPath, interval: live.heartbeatInterval)
    }

    func heartbeat(livePath: String, logPath: String?, interval: Double) -> Verdict {
        let limit = staleAfter ?? (3 * interval + 15)
        let newest = [livePath, logPath].compactMap { $0 }.compactMap(Self.mtime).max() ?? .distantPast
        let age = now().timeIntervalSince(newest)
        return age <= limit
            ? .alive("heartbeat \(Int(age))s ago") : .gone("no heartbeat for \(Int(age))s")
    }

    static func mtime(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// Whether another process holds a write lock on `path`; nil when it cannot be tested.
    public static func lockHeld(path: String) -> Bool? {
        guard let fd = try? RegularFile.open(path) else { return nil }
        defer { close(fd) }
        var lock = FileLock.whole(F_WRLCK)
        guard fcntl(fd, F_GETLK, &lock) == 0 else { return nil }
        return lock.l_type != Int16(F_UNLCK)
    }
}
