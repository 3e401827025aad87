// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

@testable import RunSync

/// The order in which a run's logs are tried: ranks in turn, each rank's logs in reading order.
@Suite struct RankTurnsTests {
    /// The logs of a run directory (empty files: only their names count here), as syncd lists them.
    let segments: [RunDirectory.Segment]

    init() throws {
        let run = TestRun.makeRoot() + "/run"
        try FileManager.default.createDirectory(atPath: run + "/logs", withIntermediateDirectories: true)
        for (rank, attempt, segment) in [(0, 1, 0), (0, 1, 1), (0, 2, 0), (1, 1, 0), (2, 2, 0), (2, 2, 1)] {
            let name = SegmentName(attempt: UInt64(attempt), rank: UInt64(rank), segment: UInt64(segment))
            FileManager.default.createFile(atPath: run + "/logs/" + name.fileName, contents: nil)
        }
        segments = try RunDirectory(path: run).segments()
    }

    func order(_ turns: RankTurns, _ segments: [RunDirectory.Segment]? = nil) -> [String] {
        turns.order(segments ?? self.segments, rank: \.name.rank).map { "r\($0.name.rank) a\($0.name.attempt) s\($0.name.segment)" }
    }

    func turns(after ranks: [UInt64]) -> RankTurns {
        var turns = RankTurns()
        for rank in ranks { turns.sent(rank: rank) }
        return turns
    }

    @Test func theFirstStepStartsWithRankZero() {
        #expect(order(RankTurns()) == ["r0 a1 s0", "r0 a1 s1", "r0 a2 s0", "r1 a1 s0", "r2 a2 s0", "r2 a2 s1"])
    }

    @Test func eachStepStartsWithTheRankAfterTheOneThatSentLast() {
        #expect(order(turns(after: [0])) == ["r1 a1 s0", "r2 a2 s0", "r2 a2 s1", "r0 a1 s0", "r0 a1 s1", "r0 a2 s0"])
        #expect(order(turns(after: [0, 1])) == ["r2 a2 s0", "r2 a2 s1", "r0 a1 s0", "r0 a1 s1", "r0 a2 s0", "r1 a1 s0"])
        #expect(order(turns(after: [0, 1, 2])) == order(RankTurns()))
    }

    /// A rank whose logs are gone since it sent passes the turn to the next
    /// rank there; after the highest rank, rank 0 is next.
    @Test func aRankNoLongerThereGivesTheTurnToTheNext() {
        let without1 = segments.filter { $0.name.rank != 1 }
        #expect(order(turns(after: [1]), without1) == ["r2 a2 s0", "r2 a2 s1", "r0 a1 s0", "r0 a1 s1", "r0 a2 s0"])
        #expect(order(turns(after: [2]), without1) == ["r0 a1 s0", "r0 a1 s1", "r0 a2 s0", "r2 a2 s0", "r2 a2 s1"])
    }
}
