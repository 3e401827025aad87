// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The numbers in a console log's file name, `a{attempt}-r{rank}-c{number}.rlog`
/// (spec/run-directory.md §1): a log of console records only, written by a
/// process that outlives the one whose output it holds.
public struct ConsoleLogName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var attempt: UInt64
    public var rank: UInt64
    public var number: UInt64

    public init(attempt: UInt64, rank: UInt64, number: UInt64) {
        self.attempt = attempt
        self.rank = rank
        self.number = number
    }

    /// Parses a file name; nil when it is not a console log's name.
    public init?(fileName: String) {
        let parts = fileName.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("c"), parts[2].hasSuffix(".rlog"),
            let log = SegmentName(fileName: "\(parts[0])-\(parts[1])-s\(parts[2].dropFirst())")
        else { return nil }
        self.init(attempt: log.attempt, rank: log.rank, number: log.segment)
    }

    public var fileName: String {
        "a\(SegmentName.pad(attempt))-r\(SegmentName.pad(rank))-c\(SegmentName.pad(number)).rlog"
    }

    public var description: String { fileName }

    /// Reading order: rank, attempt, number.
    public static func < (a: ConsoleLogName, b: ConsoleLogName) -> Bool {
        (a.rank, a.attempt, a.number) < (b.rank, b.attempt, b.number)
    }
}

extension RunDirectory {
    /// One console log of the run.
    public struct ConsoleLog: Sendable, Hashable {
        public var name: ConsoleLogName
        public var path: String
    }

    /// The run's console logs in reading order: by rank, then attempt, then number.
    public func consoleLogs() throws -> [ConsoleLog] {
        let names = try FileManager.default.contentsOfDirectory(atPath: logsPath)
        return names.compactMap { n in ConsoleLogName(fileName: n).map { ConsoleLog(name: $0, path: logsPath + "/" + n) } }
            .sorted { $0.name < $1.name }
    }
}
