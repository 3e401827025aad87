// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A run directory on disk (spec/run-directory.md): its logs, liveness
/// files and checkpoints. Reading only; the logger writes.
public struct RunDirectory: Sendable, Hashable {
    /// The run directory itself, `ROOT/<run-id>`.
    public let path: String

    public init(path: String) { self.path = path }

    public var runID: String { (path as NSString).lastPathComponent }
    public var logsPath: String { path + "/logs" }
    public var checkpointsPath: String { path + "/checkpoints" }

    /// The root a program should use: `explicit`, else `$RUNLOG_DIR`, else `./runlogs`.
    public static func root(_ explicit: String? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = ProcessInfo.processInfo.environment["RUNLOG_DIR"], !env.isEmpty { return env }
        return "runlogs"
    }

    /// The runs under `root`: its subdirectories that have a `logs/` directory
    /// holding at least one log, sorted by run id. Entries starting with `.` are skipped.
    public static func list(root: String) throws -> [RunDirectory] {
        let names = try FileManager.default.contentsOfDirectory(atPath: root)
        return names.sorted().compactMap { name in
            guard !name.hasPrefix(".") else { return nil }
            let run = RunDirectory(path: root + "/" + name)
            return run.isRun ? run : nil
        }
    }

    /// Whether this directory holds at least one log.
    public var isRun: Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: logsPath) else { return false }
        return names.contains { SegmentName(fileName: $0) != nil }
    }

    /// One log file of the run.
    public struct Segment: Sendable, Hashable, Comparable {
        public var name: SegmentName
        public var path: String

        public static func < (a: Segment, b: Segment) -> Bool { a.name < b.name }
    }

    /// The run's logs in reading order: by rank, then attempt, then segment.
    public func segments() throws -> [Segment] {
        let names = try FileManager.default.contentsOfDirectory(atPath: logsPath)
        return names.compactMap { n in SegmentName(fileName: n).map { Segment(name: $0, path: logsPath + "/" + n) } }.sorted()
    }

    /// The path of the liveness file of `attempt` and `rank`.
    public func livePath(attempt: UInt64, rank: UInt64) -> String {
        logsPath + "/" + SegmentName.liveFileName(attempt: attempt, rank: rank)
    }
}

/// The numbers in a log's file name, `a{attempt}-r{rank}-s{segment}.rlog`.
public struct SegmentName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var attempt: UInt64
    public var rank: UInt64
    public var segment: UInt64

    public init(attempt: UInt64, rank: UInt64, segment: UInt64) {
        self.attempt = attempt
        self.rank = rank
        self.segment = segment
    }

    /// Parses a file name; nil when it is not a log's name.
    public init?(fileName: String) {
        guard fileName.hasSuffix(".rlog") else { return nil }
        let parts = fileName.dropLast(5).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        func number(_ p: Substring, _ letter: Character) -> UInt64? {
            guard p.first == letter, p.count >= 5, p.dropFirst().allSatisfy(\.isASCII) else { return nil }
            return UInt64(p.dropFirst())
        }
        guard let a = number(parts[0], "a"), let r = number(parts[1], "r"), let s = number(parts[2], "s") else { return nil }
        self.init(attempt: a, rank: r, segment: s)
    }

    public var fileName: String { "a\(Self.pad(attempt))-r\(Self.pad(rank))-s\(Self.pad(segment)).rlog" }

    public static func liveFileName(attempt: UInt64, rank: UInt64) -> String { "a\(pad(attempt))-r\(pad(rank)).live" }

    public var description: String { fileName }

    static func pad(_ n: UInt64) -> String {
        let s = String(n)
        return s.count >= 4 ? s : String(repeating: "0", count: 4 - s.count) + s
    }

    /// Reading order: rank, attempt, segment.
    public static func < (a: SegmentName, b: SegmentName) -> Bool {
        (a.rank, a.attempt, a.segment) < (b.rank, b.attempt, b.segment)
    }
}
