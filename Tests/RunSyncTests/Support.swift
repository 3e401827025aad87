// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging
import RunSync
import Testing

enum Sync {
    static let logger: Logger = {
        var l = Logger(label: "syncd-test")
        l.logLevel = ProcessInfo.processInfo.environment["SYNCD_TEST_LOG"] != nil ? .debug : .critical
        return l
    }()

    static func settings(root: String, url: String) -> SyncSettings {
        var s = SyncSettings()
        s.roots = [root]
        s.mlflowURL = url
        s.http.timeout = 20
        return s
    }

    /// One `--once` pass in this process.
    static func once(root: String, url: String, edit: (inout SyncSettings) -> Void = { _ in }) throws -> SyncEngine.Summary {
        var s = settings(root: root, url: url)
        edit(&s)
        try s.validate()
        return try SyncEngine(settings: s, logger: logger).runOnce()
    }

    static func state(root: String, run: String) throws -> RunState {
        try #require(try StateStore(directory: root + "/.syncd").load(run))
    }
}

/// The built `syncd` executable, next to the test bundle.
let syncdPath: String = {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !url.path.hasSuffix("debug") && !url.path.hasSuffix("release") && url.path != "/" { url.deleteLastPathComponent() }
    return url.path + "/syncd"
}()

/// The directory every file of this test process goes under: run roots,
/// MLflow servers' databases and artifacts. A shell started with it waits
/// for end of file on a pipe only this process holds (so it sees this
/// process end, however it ends), gives the servers' watchdogs time to stop
/// them, and removes the directory; `RUNLOG_KEEP_TEST_FILES=1` keeps it.
enum TestFiles {
    static let root: String = {
        let root = NSTemporaryDirectory() + "runlog-sync-tests-\(getpid())"
        try! FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["RUNLOG_KEEP_TEST_FILES"] != "1" {
            janitor = Lifeline.watch(script: "while read -r _; do :; done; sleep 6; rm -rf '\(root)'")
        }
        return root
    }()

    nonisolated(unsafe) private static var janitor: Lifeline?
}

/// A shell running `script` with its standard input on a pipe whose write
/// end only this process holds (close-on-exec, so no child inherits it):
/// the shell reads end of file once this process is gone.
struct Lifeline {
    let process: Process
    let pipe: Pipe
    /// The shell's first line of output, if it writes one.
    let firstLine: String

    static func watch(script: String, environment: [String: String]? = nil, readFirstLine: Bool = false) -> Lifeline? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        if let environment { p.environment = environment }
        let pipe = Pipe()
        _ = fcntl(pipe.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        p.standardInput = pipe
        let out = Pipe()
        p.standardOutput = readFirstLine ? out : FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let line = readFirstLine ? String(decoding: out.fileHandleForReading.availableDataLine(), as: UTF8.self) : ""
        return Lifeline(process: p, pipe: pipe, firstLine: line.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
