// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// The `syncd` executable run as a child process, for tests that signal or kill it.
final class SyncdProcess {
    let process = Process()
    let logPath: String

    init(_ arguments: [String], environment: [String: String] = [:], log: String) throws {
        logPath = log
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        handle.seekToEndOfFile()
        process.executableURL = URL(fileURLWithPath: syncdPath)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        for k in ["MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"] { env[k] = nil }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends `signal` and waits up to `timeout` s; the exit status, or nil if it did not exit (then it is killed).
    func stop(_ signal: Int32 = SIGTERM, timeout: Double = 20) -> Int32? {
        kill(pid, signal)
        return wait(timeout: timeout)
    }

    func wait(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning {
            kill9()
            return nil
        }
        return process.terminationStatus
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs `syncd ARGS` to completion (at most `timeout` s): its exit status and output.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 120, log: String) throws -> (Int32?, String) {
        let p = try SyncdProcess(arguments, environment: environment, log: log)
        let status = p.wait(timeout: timeout)
        return (status, p.log)
    }
}

/// Polls `condition` every 50 ms for at most `timeout` seconds; the seconds it took, or nil.
func eventually(timeout: Double, _ condition: () throws -> Bool) rethrows -> Double? {
    let start = Date()
    while Date().timeIntervalSince(start) < timeout {
        if try condition() { return Date().timeIntervalSince(start) }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return nil
}
