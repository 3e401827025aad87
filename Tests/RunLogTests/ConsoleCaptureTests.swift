// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import SeededRandom
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `RunOptions.captureConsole` in child processes (`runlog-testwriter
/// console…`; the test runner's own descriptors stay as they are). The
/// child's real standard output and error are pipes of the test: what the
/// terminal would show.
@Suite struct ConsoleCaptureTests {
    @Test func outputIsRecordedAndStillReachesTheTerminalUnchanged() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let out = try ConsoleChild(["console", dir.path, "c1"]).finish()
        #expect(out.status == 0)
        let lines = (0..<100).map { "line \($0) é\n" }.joined()
        #expect(out.stdoutText == lines + "from a child process\nno newlineafter finish\nchildren after finish: 0\n")
        #expect(out.stderrText == (0...10).map { "\rtrain: \($0 * 10)%" }.joined() + "\n")
        let console = try CapturedConsole(run: dir.path + "/c1")
        #expect(console.text[.stdout] == lines + "from a child process\nno newline")
        #expect(console.text[.stderr] == "train: 100%\n")  // the bar in its final state
        #expect(console.files == ["a0001-r0000-c0000.rlog"])
        #expect(console.writers == ["runlog-swift-console/0.1.0"])
        #expect(console.dropped == 0)
    }

    /// The last bytes printed before the process ends, however it ends, are
    /// in the console log, after everything printed before them, once each;
    /// the terminal gets every byte as printed; the capture processes end.
    @Test(arguments: ["kill9", "segv", "exit", "child"])
    func theLastLineBeforeTheEndIsKept(how: String) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let id = "end-\(how)-\(UUID().uuidString.prefix(6))"
        let out = try ConsoleChild(["console-end", dir.path, id, how]).finish()
        let signal: Int32? = ["kill9": SIGKILL, "segv": SIGSEGV, "child": SIGKILL][how]
        #expect(out.signal == signal && (signal != nil || out.status == 0), "status \(out.status), signal \(String(describing: out.signal))")
        var stdout = (0..<300).map { "out \($0) ü\n" }.joined() + "last on stdout"
        if how == "child" { stdout += "from the child\nthe child is done" }
        let stderr = (0..<30).map { "err \($0)\n" }.joined() + "last on stderr"
        #expect(out.stdoutText == stdout)
        #expect(out.stderrText == stderr)
        let console = try CapturedConsole(run: dir.path + "/" + id)
        #expect(console.text[.stdout] == stdout)
        #expect(console.text[.stderr] == stderr)
        #expect(console.dropped == 0)
        #expect(captureProcesses(id, within: 5).isEmpty, "the capture processes outlived their pipes")
        if how == "kill9" {  // as `runlog logs` shows it
            let logs = try runCLI(["logs", "--stream", "stdout", "--tail", "2", dir.path + "/" + id])
            #expect(logs.status == 0 && logs.stderr == "")
            #expect(logs.stdout == "out 299 ü\nlast on stdout\n")
        }
    }

    /// When the capture cannot start (here: too few free descriptors for its
    /// console log, or for its pipes), one line says why, nothing is left
    /// behind, and the program's output and run go on as before.
    @Test(arguments: [2, 4])
    func aCaptureThatCannotStartSaysWhyAndChangesNothing(free: Int) throws {
        let dir = TempDir()
        defer { dir.remove() }
        let out = try ConsoleChild(["console-nofds", dir.path, "nofds", "\(free)"]).finish()
        #expect(out.status == 0 && out.stdoutText == "printed as before\n")
        let why = free == 2 ? "\(dir.path)/nofds/logs/a0001-r0000-c0000.rlog: cannot create: Too many open files" : "cannot start its process: Too many open files"
        #expect(out.stderrText == "runlog: console capture is off: \(why)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/nofds/logs") == ["a0001-r0000-s0000.rlog"])
        let records = try ReadLog(path: dir.path + "/nofds/logs/a0001-r0000-s0000.rlog").records
        #expect(records.contains { if case .runEnd(let e) = $0 { e.status == .finished } else { false } })
        #expect(captureProcesses("nofds", within: 0).isEmpty)
    }

    /// Random text (lines, progress bars redrawn with `\r`, characters of 1
    /// to 4 bytes, bytes that are not UTF-8) written in random pieces is
    /// recorded as the logger's own `ConsoleLineFolder` folds the whole of
    /// it: the same lines shown, each line in its final state only.
    @Test(.namesSeed, arguments: [1, 2, 3])
    func randomTextInRandomPiecesIsFoldedAsTheSwiftFolderFoldsIt(round: Int) throws {
        let dir = TempDir()
        defer { dir.remove() }
        var random = SplitMix64(seed: TestSeed.make())
        var bytes: [UInt8] = []
        let pieces: [[UInt8]] = [Array("abc ".utf8), Array("epoch 12/100 loss 0.25".utf8), [0x0A], [0x0A], [0x0D], [0x0D, 0x0A],
                                 Array("é✓😀".utf8), [0xFF], [0x80], [0xC3], [0xED, 0xA0, 0x80], [0xF0, 0x9F, 0x98]]
        while bytes.count < 200_000 { bytes += pieces[Int.random(in: 0..<pieces.count, using: &random)] }
        let child = try ConsoleChild(["console-stdin", dir.path, "random\(round)"], stdin: true)
        var at = 0
        while at < bytes.count {
            let n = min(bytes.count - at, Int.random(in: 1...6000, using: &random))
            child.send(Data(bytes[at..<(at + n)]))
            at += n
            if Bool.random(using: &random) { usleep(UInt32.random(in: 0...3000, using: &random)) }
        }
        child.closeStdin()
        let out = child.finish()
        #expect(out.status == 0 && Array(out.stdout) == bytes, "the terminal copy differs")
        var folder = ConsoleLineFolder()
        let whole = String(decoding: folder.feed(bytes[...], now: 0) + folder.takePartial(), as: UTF8.self)
        let records = try CapturedConsole(run: dir.path + "/random\(round)").records
        #expect(shown(records) == shown([ConsoleText(stream: .stdout, time: 1, text: whole)]))
        for r in records {  // only a continuation's first byte may be a `\r`: no redraw is kept
            #expect(!r.text.utf8.dropFirst().contains(0x0D), "a record keeps a redraw: \(r.text.prefix(80))")
        }
    }

    /// A partial line is recorded after a second; when it is then redrawn
    /// with `\r`, the next record starts with `\r` and readers show the line
    /// in its final state.
    @Test func aPartialLineRecordedAndThenRedrawnIsShownInItsFinalState() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let out = try ConsoleChild(["console-partial", dir.path, "partial"]).finish()
        #expect(out.status == 0 && out.stdoutText == "step 1\rstep 2\rstep 3\ndone\n")
        let texts = try CapturedConsole(run: dir.path + "/partial").records.map(\.text)
        #expect(texts.first == "step 1" && texts.dropFirst().joined() == "\rstep 3\ndone\n", "\(texts)")
        let logs = try runCLI(["logs", dir.path + "/partial"])
        #expect(logs.status == 0 && logs.stderr == "")
        #expect(logs.stdout == "step 3\ndone\n")
    }

    /// A child process that still holds the pipes when the program finishes
    /// (for 6 s) holds `finish` up only for its 5 s bound; what the child
    /// prints afterwards is still captured, and the capture, ending later, is
    /// reaped: no zombie is left.
    @Test func finishWaitsForAChildHoldingThePipesOnlySoLongAndLeavesNoZombie() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let out = try ConsoleChild(["console-held", dir.path, "held"]).finish()
        #expect(out.status == 0)
        let lines = out.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5 && lines[0] == "before finish" && lines[2] == "the child is done" && lines[3] == "children after the child: 0" && lines[4] == "", "\(lines)")
        let waited = lines.count > 1 ? Int(lines[1].split(separator: " ").dropFirst(3).first ?? "") : nil
        #expect(waited.map { (4_900..<6_000).contains($0) } == true, "\(lines.count > 1 ? lines[1] : "")")
        #expect(try CapturedConsole(run: dir.path + "/held").text[.stdout] == "before finish\nthe child is done\n")
    }

    /// SIGINT, SIGHUP, SIGPIPE and SIGTERM (a Ctrl-C, a closed terminal, a
    /// scheduler's notice) do not end the capture processes before the
    /// program: what it prints afterwards is kept, up to its last byte.
    @Test func theCaptureOutlivesSignalsMeantForTheProgram() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let child = try ConsoleChild(["console-signals", dir.path, "signals"], stdin: true)
        #expect(child.waitForStdout(bytes: 6, timeout: 30))
        let pids = captureProcesses("signals", within: 0)
        #expect(pids.count == 2)
        for pid in pids {
            for signal in [SIGINT, SIGHUP, SIGPIPE, SIGTERM] { kill(pid, signal) }
        }
        usleep(200_000)
        #expect(captureProcesses("signals", within: 0) == pids)
        child.send("go")
        let out = child.finish()
        #expect(out.signal == SIGKILL)
        #expect(out.stdoutText == "ready\nafter the signals\nthe end")
        #expect(try CapturedConsole(run: dir.path + "/signals").text[.stdout] == "ready\nafter the signals\nthe end")
        #expect(captureProcesses("signals", within: 5).isEmpty)
    }

    /// A character cut between reads is kept whole; bytes that are not UTF-8
    /// become U+FFFD as Swift's and Python's decoders replace them (one per
    /// maximal subpart); the terminal gets the bytes as they were.
    @Test func cutCharactersAreKeptWholeAndInvalidBytesReplaced() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let out = try ConsoleChild(["console-bytes", dir.path, "bytes"]).finish()
        #expect(out.status == 0)
        let bytes = consoleBytes
        #expect(Array(out.stdout) == bytes)
        let console = try CapturedConsole(run: dir.path + "/bytes")
        let expected = String(decoding: bytes, as: UTF8.self)
        #expect(console.text[.stdout] == expected)
        #expect(expected.hasPrefix("café ok ✓😀\n\u{FFFD}a\u{FFFD}\u{FFFD}b\u{FFFD}\u{FFFD}\u{FFFD}c"))
        #expect(expected.hasSuffix("\u{FFFD}x\nend \u{FFFD}"))
    }

    /// 50 MB printed faster than the (slowed) disk takes it: the terminal gets
    /// every byte, the capture processes' memory stays bounded, and what the
    /// console log lacks is counted exactly where it is missing.
    @Test func aFloodIsPassedOnWholeAndWhatTheDiskCannotTakeIsCounted() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let megabytes = 50
        let child = try ConsoleChild(["console-flood", dir.path, "flood", "\(megabytes)"], environment: ["RUNLOG_CONSOLE_TEST_WRITE_DELAY": "0.2"], stdin: true)
        #expect(child.waitForStderr("ready\n", timeout: 30))
        let pids = captureProcesses("flood", within: 0)
        #expect(pids.count == 2)
        let before = pids.map { memoryKiB($0, "VmRSS") ?? 0 }
        child.send("go")
        let total = megabytes * 1_000_000
        #expect(child.waitForStdout(bytes: total, timeout: 120))
        let peaks = pids.map { memoryKiB($0, "VmHWM") ?? .max }
        for (b, p) in zip(before, peaks) {
            #expect(p - b < 16 << 10, "the capture grew by \(p - b) KiB while \(megabytes) MB were printed")
        }
        child.closeStdin()
        let out = child.finish()
        #expect(out.status == 0)
        var expected = [UInt8]()
        expected.reserveCapacity(total)
        for i in 0..<(megabytes * 10_000) { expected += floodLine(i) }
        #expect(out.stdout.count == total && Array(out.stdout) == expected, "the terminal copy differs")
        var at = 0
        var dropped: UInt64 = 0
        for c in try CapturedConsole(run: dir.path + "/flood").records where c.stream == .stdout {
            at += Int(c.dropped)
            dropped += c.dropped
            let text = Array(c.text.utf8)
            guard at + text.count <= total, Array(expected[at..<(at + text.count)]) == text else {
                Issue.record("a record's text is not what was printed at byte \(at)")
                return
            }
            at += text.count
        }
        #expect(at == total, "kept and dropped bytes add up to \(at), not \(total)")
        #expect(dropped > 0, "nothing was dropped: the disk was not slow enough to test it")
    }
}

/// The lines `runlog logs` shows for `records`.
private func shown(_ records: [ConsoleText]) -> [UInt8] {
    var renderer = ConsoleRenderer()
    var out: [UInt8] = []
    for r in records { renderer.add(r) { out += $0 } }
    renderer.finish { out += $0 }
    return out
}

/// What the `console-bytes` mode writes, in one piece.
private let consoleBytes: [UInt8] = [
    Array("caf".utf8) + [0xC3], [0xA9] + Array(" ok ".utf8) + [0xE2, 0x9C], [0x93, 0xF0, 0x9F], [0x98, 0x80, 0x0A],
    [0xFF, 0x61, 0xC0, 0x80, 0x62, 0xED, 0xA0, 0x80, 0x63, 0xF4, 0x90, 0x80, 0x80, 0x64, 0x80, 0x0A],
    [0xE2, 0x82], [0x78, 0x0A], Array("end ".utf8) + [0xE2, 0x82],
].flatMap { $0 }

/// Line `i` of the `console-flood` mode.
private func floodLine(_ i: Int) -> [UInt8] {
    var s = Array("floodline \(i)".utf8)
    s += [UInt8](repeating: UInt8(ascii: "."), count: 99 - s.count)
    s.append(0x0A)
    return s
}
