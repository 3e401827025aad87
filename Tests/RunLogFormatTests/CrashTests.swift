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
        // A fixed seed, so that a failure can be replayed; RUNLOG_TEST_SEED picks another.
        let seed = ProcessInfo.processInfo.environment["RUNLOG_TEST_SEED"].flatMap { UInt64($0) } ?? 20261129
        var rng = SplitMix64(seed: seed)
        let dir = try temporaryDirectory()
        let rounds = 50
        var roundsWithRows = 0
        for round in 0..<rounds {
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
            // Every other round waits for the writer's first frame, so that a slow
            // start (a loaded machine) cannot turn all rounds into kills before any
            // write; then it writes for 0 to 150 ms more and is SIGKILLed.
            var first = Data()
            if round % 2 == 1 {
                while !first.contains(0x0A) {
                    let chunk = out.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    first.append(chunk)
                }
            }
            usleep(useconds_t(rng.next() % 150_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            #expect(p.terminationReason == .uncaughtSignal)
            // The offsets the writer reported: frames whose write() had returned.
            let reported = String(decoding: first + out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .split(separator: "\n").compactMap { Int64($0) }
            guard FileManager.default.fileExists(atPath: path) else {
                #expect(reported.isEmpty, "round \(round) (seed \(seed)): no file but frames reported")
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
            #expect(damage.isEmpty, "round \(round) (seed \(seed)): \(damage)")
            if step > 0 { roundsWithRows += 1 }
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
        // The rounds that waited for a first frame must all have rows to check,
        // or the checks above checked nothing.
        #expect(roundsWithRows >= rounds / 2, "only \(roundsWithRows) of \(rounds) rounds read any row (seed \(seed))")
        try? FileManager.default.removeItem(atPath: dir)
    }
}
