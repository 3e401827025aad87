// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import RunLog
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under the system temporary directory, removed by `remove()`.
struct TempDir {
    let path: String

    init(_ label: String = #function) {
        path = try! TestPaths.temporaryDirectory("runlog-tests-" + label.filter { $0.isLetter || $0.isNumber })
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Options for tests: errors collected instead of printed, quick writes.
func testOptions(_ errors: ErrorLines? = nil) -> RunOptions {
    var o = RunOptions()
    o.mode = .enabled
    o.writeInterval = 0.05
    let sink = errors ?? ErrorLines()
    o.onError = { sink.append($0) }
    return o
}

/// Lines reported through `RunOptions.onError`.
final class ErrorLines: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []
    func append(_ line: String) { lock.withLock { storage.append(line) } }
    var lines: [String] { lock.withLock { storage } }
}

/// Everything read back from one log file.
struct ReadLog {
    var header: FileHeader
    var records: [Record] = []
    var damage: [LogReader.Damage] = []
    var tail: LogReader.Tail?

    init(path: String) throws {
        let reader = try LogReader(path: path)
        header = reader.header
        var damage: [LogReader.Damage] = []
        reader.onDamage = { damage.append($0) }
        while let frame = try reader.next() { records.append(contentsOf: frame.records) }
        tail = try reader.tail()
        self.damage = damage
    }

    /// Metrics rows in order: step, and values by key.
    var rows: [(step: Int64, values: [String: Double])] {
        var out: [(Int64, [String: Double])] = []
        for case .metrics(let block) in records {
            block.forEachRow { step, _, values in
                out.append((step, Dictionary(values.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })))
            }
        }
        return out
    }
}

/// The logs of a run, in reading order.
/// A last segment whose header is not complete yet (its writer was killed
/// right after creating it) is not a log yet (spec/format.md §5) and is left
/// out; any other error is thrown.
func readRun(_ run: RunDirectory) throws -> [ReadLog] {
    let segments = try run.segments()
    return try segments.enumerated().compactMap { i, segment in
        do { return try ReadLog(path: segment.path) } catch let error as FormatError where error.code == .headerIncomplete && i == segments.count - 1 {
            return nil
        }
    }
}

/// The built `RunLogTestWriter` executable.
func testWriterPath() -> String { TestPaths.executable("RunLogTestWriter") }

/// A `RunLogTestWriter` process to run, without the runtime's backtraces on a crash.
func testWriterProcess(_ arguments: [String], environment: [String: String]) -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: testWriterPath())
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["SWIFT_BACKTRACE"] = "enable=no"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    return process
}

/// A child process whose stdout lines can be read as they come.
final class Child {
    let process: Process
    private let pipe = Pipe()
    private var buffer = Data()

    init(_ arguments: [String], environment: [String: String] = [:]) throws {
        process = testWriterProcess(arguments, environment: environment)
        process.standardOutput = pipe
        try process.run()
    }

    /// The next line of output, or nil at the end of output.
    func readLine() -> String? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                return line
            }
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for the child to exit; false (and the child killed) after `timeout` seconds.
    func waitForExit(timeout: Double = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() > deadline {
                kill9()
                return false
            }
            usleep(10_000)
        }
        return true
    }
}
