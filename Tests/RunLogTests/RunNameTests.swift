// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// A run started without a name gets a readable one from its id, the same
/// one the Python client gives (tools/python/tests/test_modes.py checks the same value).
@Suite struct RunNameTests {
    @Test func aRunWithoutANameGetsTheNameBothWritersDeriveFromItsID() throws {
        #expect(RunName.fnv1a64([]) == 0xCBF2_9CE4_8422_2325 && RunName.fnv1a64(Array("a".utf8)) == 0xAF63_DC4C_8601_EC8C)
        #expect(RunName.generated(for: "3kx9a0qz") == "gentle-bird-95")
        #expect(RunName.generated(for: "é") == "ancient-thunder-17")
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(project: "p", id: "3kx9a0qz", root: dir.path, options: testOptions())
        run.finish()
        let named = try Run(project: "p", name: "mine", id: "named", root: dir.path, options: testOptions())
        named.finish()
        let starts = try [run, named].map { r -> String in
            guard case .runStart(let s) = try readRun(r.directory!)[0].records.first else { return "" }
            return s.name
        }
        #expect(starts == ["gentle-bird-95", "mine"])
        #expect(Set((0..<2000).map { RunName.generated(for: "run\($0)") }).count > 1900)
    }
}

/// A second writer of a live run id and rank is refused instead of starting an attempt beside it.
@Suite struct LiveWriterTests {
    @Test func aSecondWriterOfALiveRunAndRankIsRefused() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let first = try Run(project: "p", id: "same", root: dir.path, options: testOptions())
        #expect(throws: RunError.self) { try Run(project: "p", id: "same", root: dir.path, options: testOptions()) }
        let otherRank = try Run(project: "p", id: "same", root: dir.path, rank: 1, options: testOptions())
        otherRank.finish()
        first.finish()
        let again = try Run(project: "p", id: "same", root: dir.path, options: testOptions())
        #expect(again.attempt == 2)
        again.finish()
    }
}
