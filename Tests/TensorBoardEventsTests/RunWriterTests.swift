// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLogFormat
import Testing
@testable import TensorBoardEvents
#if canImport(Glibc)
import Glibc
#endif

/// Crashes of a delivering process, simulated: the state saved after a
/// commit is the only thing a restart knows.
@Suite struct RunWriterTests {
    static let start: RunStart = {
        var s = RunStart(runID: "crash-1")
        s.project = "p"
        s.name = "n"
        s.startTime = 1_764_000_000_000_000
        return s
    }()

    static func block(_ from: Int64, _ n: Int64) -> Record {
        let steps = Array(from..<from + n)
        return .metrics(MetricsBlock(
            keys: ["loss", "acc"], steps: steps, times: steps.map { 1_764_000_000_000_000 + $0 * 1000 },
            values: [steps.map { 1 / Double($0 + 1) }, steps.map { Double($0) / 100 }]))
    }

    static func bytes(_ path: String) -> [UInt8] {
        guard let f = fopen(path, "rb") else { return [] }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    static func root() -> String { "/tmp/tb-writer-\(UInt64.random(in: 0...UInt64.max))" }

    /// One batch per element, committed; the file's bytes.
    static func uninterrupted(_ batches: [[Record]]) throws -> [UInt8] {
        let dir = root()
        defer { EventFileTests.remove(dir) }
        let w = TensorBoardRunWriter(root: dir)
        for batch in batches {
            for r in batch { try w.add(r, rank: 0, start: start) }
            try w.commit()
        }
        return bytes(dir + "/p/n/" + w.state.ranks["0"]!.file)
    }

    @Test func aBatchWrittenButNotAcknowledgedIsWrittenOnceWhenSentAgain() throws {
        let first: [Record] = [.runStart(Self.start), Self.block(0, 100)]
        let second: [Record] = [Self.block(100, 100), .tags(TagsUpdate(add: ["x"], notes: "n"))]
        let dir = Self.root()
        defer { EventFileTests.remove(dir) }
        let a = TensorBoardRunWriter(root: dir)
        for r in first { try a.add(r, rank: 0, start: Self.start) }
        let saved = try a.commit()
        for r in second { try a.add(r, rank: 0, start: Self.start) }
        try a.commit()  // written and synced; the process dies before saving the state
        let path = dir + "/p/n/" + saved.ranks["0"]!.file
        let f = try EventFile(directory: dir + "/p/n", name: saved.ranks["0"]!.file, length: Int64(Self.bytes(path).count))
        try f.append([0x18, 0, 0, 0, 0, 0, 0])  // and a torn event after it, for good measure

        let b = TensorBoardRunWriter(root: dir, state: saved)
        for r in second { try b.add(r, rank: 0, start: Self.start) }
        try b.commit()
        #expect(Self.bytes(path) == (try Self.uninterrupted([first, second])))
    }

    /// The resend may hold more than the lost batch (the log grew meanwhile): it starts with the same bytes.
    @Test func aLongerResendStartsWithTheLostBatchBytes() throws {
        let first: [Record] = [.runStart(Self.start), Self.block(0, 50)]
        let dir = Self.root()
        defer { EventFileTests.remove(dir) }
        let a = TensorBoardRunWriter(root: dir)
        for r in first { try a.add(r, rank: 0, start: Self.start) }
        let saved = try a.commit()
        try a.add(Self.block(50, 50), rank: 0, start: Self.start, from: 0, limit: 30)
        try a.commit()
        let path = dir + "/p/n/" + saved.ranks["0"]!.file
        let seenByAReader = Self.bytes(path)

        let b = TensorBoardRunWriter(root: dir, state: saved)
        try b.add(Self.block(50, 50), rank: 0, start: Self.start)
        try b.commit()
        let after = Self.bytes(path)
        #expect(Array(after.prefix(seenByAReader.count)) == seenByAReader)
        #expect(after == (try Self.uninterrupted([first, [Self.block(50, 50)]])))
        // The file version, the run start's text, 50 + 50 steps of 2 keys.
        #expect(TFRecord.records(in: after).records.count == 1 + 1 + 100 + 100)
    }

    @Test func ranksGoToTheirOwnFilesAndTheStateRoundTripsThroughJSON() throws {
        let dir = Self.root()
        defer { EventFileTests.remove(dir) }
        let w = TensorBoardRunWriter(root: dir)
        try w.add(Self.block(0, 3), rank: 0, start: Self.start)
        try w.add(Self.block(0, 3), rank: 2, start: Self.start)
        let state = try w.commit()
        #expect(state.ranks.keys.sorted() == ["0", "2"])
        #expect(state.ranks["2"]!.directory == "p/n/rank2")
        #expect(state.ranks["0"]!.context.step == 2)
        let json = try JSONEncoder().encode(state)
        #expect(try JSONDecoder().decode(TensorBoardRunState.self, from: json) == state)
    }
}
