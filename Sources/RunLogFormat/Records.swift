// SPDX-License-Identifier: Apache-2.0
/// One record of a run log (spec §4).
public enum Record: Sendable, Equatable {
    case runStart(RunStart)
    case config([Entry])
    case metrics(MetricsBlock)
    case histogram(Histogram)
    case checkpoint(Checkpoint)
    case tags(TagsUpdate)
    case summary([Entry])
    case runEnd(RunEnd)
    case checkpointRemoved(CheckpointRemoved)
    case console(ConsoleText)
    /// The machine, program and job an attempt runs in (spec §4.10).
    case environment([Entry])
    /// A record of a kind this reader does not know, kept as raw bytes.
    case unknown(kind: UInt8, body: [UInt8])

    /// The kind byte of spec §4.
    public var kind: UInt8 {
        switch self {
        case .runStart: return 1
        case .config: return 2
        case .metrics: return 3
        case .histogram: return 4
        case .checkpoint: return 5
        case .tags: return 6
        case .summary: return 7
        case .runEnd: return 8
        case .checkpointRemoved: return 9
        case .console: return 10
        case .environment: return 11
        case .unknown(let k, _): return k
        }
    }

    /// The canonical JSON name of the kind.
    public var kindName: String { Record.kindName(kind) }

    public static func kindName(_ kind: UInt8) -> String {
        switch kind {
        case 1: return "run_start"
        case 2: return "config"
        case 3: return "metrics"
        case 4: return "histogram"
        case 5: return "checkpoint"
        case 6: return "tags"
        case 7: return "summary"
        case 8: return "run_end"
        case 9: return "checkpoint_removed"
        case 10: return "console"
        case 11: return "environment"
        default: return "unknown"
        }
    }
}

/// The first record of every attempt (spec §4.1).
public struct RunStart: Sendable, Equatable {
    public var runID: String
    public var project: String = ""
    public var name: String = ""
    public var group: String = ""
    public var tags: [String] = []
    public var notes: String = ""
    public var host: String = ""
    public var pid: UInt64 = 0
    /// Microseconds since the Unix epoch.
    public var startTime: Int64 = 0
    public var attempt: UInt64 = 1
    public var rank: UInt64 = 0
    public var worldSize: UInt64 = 0
    public var jobID: String = ""
    public var argv: [String] = []
    public var writer: String = ""

    public init(runID: String) { self.runID = runID }
}

/// A histogram of one key at one step (spec §4.4).
public struct Histogram: Sendable, Equatable {
    public enum Bins: Sendable, Equatable {
        /// `count` equal bins from `low` to `high`; the count is `counts.count`.
        case uniform(low: Double, high: Double)
        /// Explicit edges: one more than the number of bins.
        case edges([Double])
    }

    public var key: String
    public var step: Int64
    public var time: Int64
    public var bins: Bins
    public var counts: [UInt64]
    public var count: UInt64 = 0
    public var min: Double = 0
    public var max: Double = 0
    public var sum: Double = 0
    public var sumSquares: Double = 0
    public var nonfinite: UInt64 = 0

    public init(key: String, step: Int64, time: Int64, bins: Bins, counts: [UInt64]) {
        self.key = key
        self.step = step
        self.time = time
        self.bins = bins
        self.counts = counts
    }

    public static func == (a: Histogram, b: Histogram) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x.bitPattern == y.bitPattern || x == y }
        let binsEqual: Bool
        switch (a.bins, b.bins) {
        case let (.uniform(l1, h1), .uniform(l2, h2)): binsEqual = same(l1, l2) && same(h1, h2)
        case let (.edges(e1), .edges(e2)): binsEqual = e1.count == e2.count && zip(e1, e2).allSatisfy(same)
        default: binsEqual = false
        }
        return binsEqual && a.key == b.key && a.step == b.step && a.time == b.time && a.counts == b.counts
            && a.count == b.count && same(a.min, b.min) && same(a.max, b.max) && same(a.sum, b.sum)
            && same(a.sumSquares, b.sumSquares) && a.nonfinite == b.nonfinite
    }
}

/// A checkpoint file saved in the run directory (spec §4.5).
public struct Checkpoint: Sendable, Equatable {
    public var name: String
    public var step: Int64
    public var time: Int64
    /// Relative to the run directory, `/`-separated.
    public var path: String
    public var size: UInt64
    public var sha256: [UInt8]
    public var aliases: [String] = []
    public var metadata: [Entry] = []

    public init(name: String, step: Int64, time: Int64, path: String, size: UInt64, sha256: [UInt8]) {
        self.name = name
        self.step = step
        self.time = time
        self.path = path
        self.size = size
        self.sha256 = sha256
    }

    /// Whether `path` is relative, `/`-separated, and has no empty, `.` or `..` component.
    public static func isValidPath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0")
        }
    }
}

/// The file of an earlier checkpoint record deleted on purpose (spec §4.11),
/// e.g. an older checkpoint that a keep-the-last-n policy retires. Written
/// durably before the file is deleted, so a checkpoint file gone without one
/// is lost, not retired.
public struct CheckpointRemoved: Sendable, Equatable {
    /// The `path` of the checkpoint record whose file was deleted.
    public var path: String
    /// Microseconds since the Unix epoch.
    public var time: Int64

    public init(path: String, time: Int64) {
        self.path = path
        self.time = time
    }
}

/// Tags added or removed, and notes replaced (spec §4.6).
public struct TagsUpdate: Sendable, Equatable {
    public var add: [String]
    public var remove: [String]
    public var notes: String?

    public init(add: [String] = [], remove: [String] = [], notes: String? = nil) {
        self.add = add
        self.remove = remove
        self.notes = notes
    }
}

/// The last record of an attempt (spec §4.8).
public struct RunEnd: Sendable, Equatable {
    public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let finished = Status(rawValue: 1)
        public static let failed = Status(rawValue: 2)
        public static let killed = Status(rawValue: 3)
        public var description: String {
            switch rawValue {
            case 1: return "finished"
            case 2: return "failed"
            case 3: return "killed"
            default: return "\(rawValue)"
            }
        }
    }

    public var status: Status
    public var exitCode: Int64
    public var endTime: Int64
    public var message: String

    public init(status: Status, exitCode: Int64 = 0, endTime: Int64, message: String = "") {
        self.status = status
        self.exitCode = exitCode
        self.endTime = endTime
        self.message = message
    }
}
