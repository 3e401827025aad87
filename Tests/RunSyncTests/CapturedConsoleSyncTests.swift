// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

/// The console log the Swift logger's capture process writes reaches MLflow
/// as the Python client's does (ConsoleSyncTests).
@Suite("The Swift logger's captured console in MLflow", .needsMLflow)
struct CapturedConsoleSyncTests {
    let server = MLflowServer.shared

    @Test func theConsoleOfAProgramKilledHardArrivesToItsLastLine() throws {
        let root = TestRun.makeRoot()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestPaths.executable("RunLogTestWriter"))
        p.arguments = ["console-end", root, "swift-console", "kill9"]
        p.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        _ = out.fileHandleForReading.readDataToEndOfFile()  // its end: the capture processes are done
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGKILL)

        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.synced == ["swift-console"])
        let state = try Sync.state(root: root, run: "swift-console")
        let client = server.client()
        let stdout = try #require(try ConsoleSyncTests.artifacts(client, state, log: "a0001-r0000-c0000", stream: "stdout"))
        #expect(stdout.text == (0..<300).map { "out \($0) ü\n" }.joined() + "last on stdout\n")
        let stderr = try #require(try ConsoleSyncTests.artifacts(client, state, log: "a0001-r0000-c0000", stream: "stderr"))
        #expect(stderr.text == (0..<30).map { "err \($0)\n" }.joined() + "last on stderr\n")
    }
}
