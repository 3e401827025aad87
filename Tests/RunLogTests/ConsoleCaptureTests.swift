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

    @Test func aCharacterCutByAReadIsKeptWhole() {
        let bytes = Array("aé✓".utf8)  // 1 + 2 + 3 bytes
        #expect(ConsoleCapture.completeUTF8(bytes) == bytes.count)
        #expect(ConsoleCapture.completeUTF8(Array(bytes[0..<5])) == 3)
        #expect(ConsoleCapture.completeUTF8(Array(bytes[0..<2])) == 1)
        #expect(ConsoleCapture.completeUTF8([0xFF, 0xFE]) == 2)  // not UTF-8: left for U+FFFD
    }
}
