// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import RunLog

#if canImport(Glibc)
import Glibc
#endif

/// The system sampler reading `/proc` files that cannot be read, are
/// garbled or are missing: those values are skipped and reported once,
/// the others still come, and sampling and the run go on.
@Suite struct SystemProcTests {
    static let netDev = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0
          eth0: 5000000 10 0 0 0 0 0 0 2000000 5 0 0 0 0 0 0

        """

    static func write(_ path: String, _ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// `/proc/stat` whose counters grew `n` times by 10 busy and 10 idle jiffies.
    static func stat(_ n: Int) -> String {
        "cpu  \(100 + 10 * n) 0 100 \(800 + 10 * n) 0 0 0 0 0 0\ncpu0 1 0 1 8 0 0 0 0 0 0\n"
    }

    @Test func unreadableGarbledAndMissingFilesAreSkippedAndReportedOnceAndSamplingGoesOn() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let proc = dir.path + "/proc"
        try FileManager.default.createDirectory(atPath: proc + "/net", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: proc + "/self", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: proc + "/stat", withIntermediateDirectories: true)  // open works, read fails (EISDIR)
        try Self.write(proc + "/self/stat", "1234 (runlog test S 1 2 3")  // no closing parenthesis, too few fields
        try Self.write(proc + "/net/dev", Self.netDev)                   // and no meminfo at all

        let errors = ErrorLines()
        var options = testOptions(errors)
        options.systemMetricsInterval = 0.1
        options.systemProcRoot = proc
        options.recordsEnvironment = false
        let run = try Run(project: "proc", id: "proc", root: dir.path + "/runs", options: options)
        let keys = run.keys("loss")
        for step in 0..<6 {
            run.log(keys, Double(step), step: Int64(step))
            usleep(100_000)
        }
        // Repaired: every later sample has all values again.
        try FileManager.default.removeItem(atPath: proc + "/stat")
        try Self.write(proc + "/stat", Self.stat(0))
        let fields = ["S"] + (1...10).map(String.init) + ["5", "7"] + (13...20).map(String.init) + ["100", "0"]
        try Self.write(proc + "/self/stat", "1234 (runlog (test)) " + fields.joined(separator: " ") + "\n")
        try Self.write(proc + "/meminfo", "MemTotal:       8000000 kB\nMemFree:         100 kB\nMemAvailable:    2000000 kB\n")
        for n in 1...8 {
            usleep(100_000)
            try Self.write(proc + "/stat", Self.stat(n))
        }
        usleep(150_000)
        #expect(run.finish())

        let directory = try #require(run.directory)
        let log = try #require(try readRun(directory).first)
        let samples = log.rows.filter { $0.values.keys.contains { $0.hasPrefix("system/") } }
        #expect(samples.map(\.step) == Array(0..<Int64(samples.count)), "one row per sample, numbered without gaps")
        let broken = try #require(samples.first?.values)
        #expect(broken["system/cpu_utilization_percentage"] == nil && broken["system/process_memory_rss_megabytes"] == nil)
        #expect(broken["system/system_memory_usage_megabytes"] == nil)
        #expect(broken["system/network_receive_megabytes"] == 0 && broken["system/disk_usage_percentage"] != nil)
        let repaired = try #require(samples.last?.values, "\(samples.count) samples")
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        #expect(repaired["system/process_memory_rss_megabytes"] == 100 * pageSize / 1e6)
        #expect(repaired["system/system_memory_usage_megabytes"] == 6_000_000 * 1024 / 1e6)
        #expect(repaired["system/system_memory_usage_percentage"] == 75)
        let cpu = samples.compactMap { $0.values["system/cpu_utilization_percentage"] }
        #expect(!cpu.isEmpty && cpu.allSatisfy { $0 == 50 }, "\(cpu)")

        // One line per source that failed, however many samples it failed in.
        let lines = errors.lines
        #expect(lines.sorted() == [
            "runlog: system metrics: cannot read /proc/meminfo; its values are skipped",
            "runlog: system metrics: cannot read /proc/self/stat; its values are skipped",
            "runlog: system metrics: cannot read /proc/stat; its values are skipped",
        ], "\(lines)")
        #expect(log.records.contains { if case .runEnd(let e) = $0 { return e.status == .finished } else { return false } })
    }
}
