// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import RunLog
import Testing

/// `RunOptions.captureConsole` in a child process (the test runner's own
/// descriptors stay as they are).
@Suite struct ConsoleCaptureTests {
    @Test func outputIsRecordedAndStillReachesTheTerminalUnchanged() throws {
        let root = NSTemporaryDirectory() + "runlog-console-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: testWriterPath())
        p.arguments = ["console", root, "c1"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let lines = (0..<100).map { "line \($0) é\n" }.joined()
        #expect(String(decoding: stdout, as: UTF8.self) == lines + "from a child process\nno newlineafter finish\n")
        #expect(String(decoding: stderr, as: UTF8.self) == (0...10).map { "\rtrain: \($0 * 10)%" }.joined() + "\n")

        var texts: [ConsoleText.Stream: String] = [:]
        let reader = try LogReader(path: root + "/c1/logs/a0001-r0000-s0000.rlog")
        var last: Record?
        while let frame = try reader.next() {
            for r in frame.records {
                if case .console(let c) = r { texts[c.stream, default: ""] += c.text }
                last = r
            }
        }
        #expect(texts[.stdout] == lines + "from a child process\nno newline")
        #expect(texts[.stderr] == "train: 100%\n")  // the bar in its final state
        guard case .runEnd = last else { Issue.record("the run end is not last"); return }
    }

    /// The documented bound: a `kill -9` loses at most the console text of
    /// the last write interval (1 s) before it; every line printed earlier is
    /// in the log, with no gap. (The Python client's helper process keeps all.)
    @Test func aKill9LosesAtMostTheLastWriteIntervalOfConsoleText() throws {
        let root = NSTemporaryDirectory() + "runlog-console-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let child = try Child(["console-forever", root, "c9"])
        var printed: [Int64] = []  // when line N was printed, ms, as the terminal saw it
        while printed.count < 150, let line = child.readLine() {
            let parts = line.split(separator: " ")
            guard parts.count == 4, Int(parts[1]) == printed.count, let at = Int64(parts[3]) else {
                Issue.record("unexpected output: \(line)")
                break
            }
            printed.append(at)
        }
        let killedAt = Int64(Date().timeIntervalSince1970 * 1000)
        child.kill9()
        var text = ""
        let reader = try LogReader(path: root + "/c9/logs/a0001-r0000-s0000.rlog")
        while let frame = try reader.next() {
            for case .console(let c) in frame.records where c.stream == .stdout { text += c.text }
        }
        let kept = text.split(separator: "\n", omittingEmptySubsequences: false)
        let whole = kept.dropLast().map(String.init)  // the last piece is a partial line, or ""
        for (n, line) in whole.enumerated() where n < printed.count {  // in order, none missing, none changed
            #expect(line == "line \(n) at \(printed[n])")
        }
        let due = printed.filter { $0 <= killedAt - 2000 }.count  // printed 2 s before the kill: 1 s interval, 1 s of slack
        #expect(due > 0 && whole.count >= due, "\(whole.count) lines kept of \(due) printed 2 s or more before the kill (\(printed.count) printed)")
    }

    @Test func aCharacterCutByAReadIsKeptWhole() {
        let bytes = Array("aé✓".utf8)  // 1 + 2 + 3 bytes
        #expect(ConsoleCapture.completeUTF8(bytes) == bytes.count)
        #expect(ConsoleCapture.completeUTF8(Array(bytes[0..<5])) == 3)
        #expect(ConsoleCapture.completeUTF8(Array(bytes[0..<2])) == 1)
        #expect(ConsoleCapture.completeUTF8([0xFF, 0xFE]) == 2)  // not UTF-8: left for U+FFFD
    }
}
