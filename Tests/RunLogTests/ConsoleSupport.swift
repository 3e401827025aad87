// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `runlog-testwriter` process whose standard output and error (the
/// terminal's stand-ins) are read whole, until every process holding them
/// (its console capture too) is gone.
final class ConsoleChild: @unchecked Sendable {
    struct Result {
        var stdout: Data
        var stderr: Data
        var status: Int32
        var signal: Int32?
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    let process: Process
    private let input = Pipe()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let done = DispatchGroup()

    init(_ arguments: [String], environment: [String: String] = [:], stdin: Bool = false) throws {
        process = testWriterProcess(arguments, environment: environment)
        let o = Pipe(), e = Pipe()
        process.standardOutput = o
        process.standardError = e
        process.standardInput = stdin ? input : FileHandle.nullDevice
        try process.run()
        for (h, isOut) in [(o.fileHandleForReading, true), (e.fileHandleForReading, false)] {
            done.enter()
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = h.availableData
                    if chunk.isEmpty { break }
                    lock.withLock { if isOut { out.append(chunk) } else { err.append(chunk) } }
                }
                done.leave()
            }
        }
    }

    /// Waits until standard error holds `text`.
    func waitForStderr(_ text: String, timeout: Double) -> Bool {
        wait(timeout) { String(decoding: $0.err, as: UTF8.self).contains(text) }
    }

    /// Waits until standard output holds `bytes` bytes.
    func waitForStdout(bytes: Int, timeout: Double) -> Bool {
        wait(timeout) { $0.out.count >= bytes }
    }

    func send(_ text: String) { send(Data(text.utf8)) }
    func send(_ data: Data) { input.fileHandleForWriting.write(data) }
    func closeStdin() { try? input.fileHandleForWriting.close() }

    /// Everything printed, once both streams end (at most `timeout` seconds, then the process is killed).
    func finish(timeout: Double = 60) -> Result {
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("the output did not end within \(timeout) s")
            _ = done.wait(timeout: .now() + 10)
        }
        process.waitUntilExit()
        let signaled = process.terminationReason == .uncaughtSignal
        return lock.withLock {
            Result(stdout: out, stderr: err, status: process.terminationStatus, signal: signaled ? process.terminationStatus : nil)
        }
    }

    private func wait(_ timeout: Double, _ ready: (ConsoleChild) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if lock.withLock({ ready(self) }) { return true }
            usleep(10_000)
        }
        return false
    }
}

/// The console records of a run, from its segments and its console logs (spec/run-directory.md §1).
struct CapturedConsole {
    var records: [ConsoleText] = []
    /// The console logs' file names, and their headers' writers.
    var files: [String] = []
    var writers: [String] = []

    init(run: String) throws {
        let logs = run + "/logs"
        let names = try FileManager.default.contentsOfDirectory(atPath: logs).sorted()
        for name in names.filter({ $0.contains("-s") }) + names.filter({ $0.contains("-c") }) where name.hasSuffix(".rlog") {
            let log = try ReadLog(path: logs + "/" + name)
            #expect(log.damage.isEmpty, "\(name): damaged")
            if name.contains("-c") {
                files.append(name)
                writers.append(log.header.writer)
            }
            for case .console(let c) in log.records { records.append(c) }
        }
    }

    /// Each stream's text, in order.
    var text: [ConsoleText.Stream: String] {
        var out: [ConsoleText.Stream: String] = [:]
        for r in records { out[r.stream, default: ""] += r.text }
        return out
    }

    var dropped: UInt64 { records.reduce(0) { $0 + $1.dropped } }
}

/// The processes of a console capture of run `runID` (forks of the test
/// writer, so its arguments name the run), waiting up to `within` seconds for there to be none.
func captureProcesses(_ runID: String, within: Double) -> [pid_t] {
    let deadline = Date().addingTimeInterval(within)
    while true {
        var found: [pid_t] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name),
                  let comm = try? String(contentsOfFile: "/proc/\(name)/comm", encoding: .utf8), comm.hasPrefix("runlog-console"),
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(name)/cmdline"),
                  String(decoding: cmdline, as: UTF8.self).split(separator: "\0").contains(Substring(runID))
            else { continue }
            found.append(pid)
        }
        if found.isEmpty || Date() >= deadline { return found.sorted() }
        usleep(20_000)
    }
}

/// A `VmRSS`/`VmHWM` line of /proc/PID/status, in KiB.
func memoryKiB(_ pid: pid_t, _ field: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
    else { return nil }
    return Int(line.split(separator: " ").dropFirst().first ?? "")
}

/// Runs the built `runlog` CLI.
func runCLI(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: TestPaths.executable("runlog"))
    p.arguments = arguments
    let o = Pipe(), e = Pipe()
    p.standardOutput = o
    p.standardError = e
    try p.run()
    let stdout = o.fileHandleForReading.readDataToEndOfFile()  // then standard error: it is small here
    let stderr = e.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
