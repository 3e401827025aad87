// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import RunLog

/// Runs the built `runlog` (and `runlog-testwriter`) as subprocesses.
enum CLI {
    static let packageRoot = TestPaths.packageRoot

    static let vectors = TestPaths.vectors.path

    /// The directory holding the built products.
    static let productsDirectory = TestPaths.products

    static var runlog: String { productsDirectory.appendingPathComponent("runlog").path }
    /// The crash-test writer: the executable target RunLogTestWriter (`runlog-testwriter` when it is a product).
    static var testWriter: String {
        let names = ["RunLogTestWriter", "runlog-testwriter"].map { productsDirectory.appendingPathComponent($0).path }
        return names.first { FileManager.default.isExecutableFile(atPath: $0) } ?? names[0]
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var stdoutLines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    }

    /// Runs `runlog ARGS` to completion (at most `timeout` seconds).
    @discardableResult
    static func run(_ args: [String], in directory: String? = nil, environment: [String: String] = [:], timeout: Double = 120) throws -> Result {
        let p = process(runlog, args, environment: environment)
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes while the process runs, so that a full pipe never blocks it.
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data(), errData = Data()
        DispatchQueue.global().async(group: group) { outData = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            p.terminate()
            kill(p.processIdentifier, SIGKILL)
        }
        p.waitUntilExit()
        group.wait()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return Result(status: status, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    static func process(_ path: String, _ args: [String], environment: [String: String] = [:]) -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        return p
    }

    /// A fresh temporary directory.
    static func temporaryDirectory() throws -> String { try TestPaths.temporaryDirectory("runlog-cli-tests") }

    /// Parses JSON Lines.
    static func jsonLines(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw TestFailure("not a JSON object: \(line)")
            }
            return object
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
