// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import SeededRandom
import RunLogFormat
import Testing

/// Finds a built executable.
func builtExecutable(_ name: String) -> String { TestPaths.executable(name) }

/// A writer process SIGKILLed at random moments leaves a log that reads back
/// to its last complete frame, with no damage, and that can be continued.
@Suite struct CrashTests {
    @Test func aWriterKilledAtRandomMomentsLeavesAReadableLog() throws {
        let writer = builtExecutable("RunLogTestWriter")
        #expect(FileManager.default.isExecutableFile(atPath: writer), "build the package first: \(writer)")
        var rng = SplitMix64(seed: UInt64(Date().timeIntervalSince1970))
        let dir = try temporaryDirectory()
        for round in 0..<50 {
            let path = "\(dir)/kill-\(round).rlog"
            let p = Process()
            p.executableURL = URL(fileURLWithPath: writer)
            p.arguments = ["format", path]
            var env = ProcessInfo.processInfo.environment
            env["SWIFT_BACKTRACE"] = "enable=no"
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            // Let it write for 0 to 150 ms, then SIGKILL it.
            usleep(useconds_t(rng.next() % 150_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(p.terminationReason == .uncaughtSignal)
            // The offsets the writer reported: frames whose write() had returned.
            let reported = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(separator: "\n").compactMap { Int64($0) }
            guard FileManager.default.fileExists(atPath: path) else {
                #expect(reported.isEmpty, "round \(round): no file but frames reported")
                continue
            }
            let reader: LogReader
            do {
                reader = try LogReader(path: path)
            } catch let e as FormatError where e.code == .headerIncomplete {
                #expect(reported.isEmpty, "round \(round)")
                continue
            }
            var damage: [LogReader.Damage] = []
            reader.onDamage = { damage.append($0) }
            var step: Int64 = 0
            var end = Int64(reader.headerSize)
            while let frame = try reader.next() {
                end = frame.end
                for case .metrics(let block) in frame.records {
                    block.forEachRow { s, _, values in
                        #expect(s == step)
                        #expect(values.map(\.value) == [Double(s), Double(s) * 0.5])
                        step += 1
                    }
                }
            }
            #expect(damage.isEmpty, "round \(round): \(damage)")
            // Everything reported as written is there (the page cache survives a process kill).
            #expect(end >= (reported.last ?? 0), "round \(round): read to \(end), writer reported \(reported.last ?? 0)")
            // Reopening cuts any tail and appends cleanly.
            let size = try FileSource(path: path).size()
            let w = try LogWriter(appendingTo: path)
            #expect(w.size == end && end <= size)
            try w.append([.runEnd(RunEnd(status: .killed, exitCode: -9, endTime: 0))])
            try w.close()
            let again = try LogReader(path: path)
            var last: Record?
            while let f = try again.next() { last = f.records.last }
            #expect(last == .runEnd(RunEnd(status: .killed, exitCode: -9, endTime: 0)))
            #expect(try again.tail() == nil)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }
}
