// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import Testing

@Suite struct StateStoreTests {
    static func example() -> RunState {
        var s = RunState(runID: "bright-otter-17")
        s.mlflowRunID = "9f1c2e4b7a6d4f0e8c3b2a1908f7e6d5"
        s.experimentID = "1"
        s.mlflowURL = "http://mlflow.internal:5000"
        s.status = .synced
        s.segments["a0001-r0000-s0000.rlog"] = .init(offset: 48213)
        s.ends["1/0"] = .init(status: "finished", endTime: 1_764_000_100_000_000)
        s.sentStatus = "FINISHED"
        s.sentAttempt = 1
        s.updated = "2026-11-26T16:30:00.000Z"
        return s
    }

    @Test func serializationMatchesTheSpecExample() throws {
        let text = String(decoding: StateStore.encode(Self.example()), as: UTF8.self)
        let spec = try String(contentsOfFile: MLflowServer.packageRoot + "/spec/sync-state.md", encoding: .utf8)
        let example = try #require(spec.components(separatedBy: "```json\n").last?.components(separatedBy: "```").first)
        #expect(text == example)
        // A state saved before syncd recorded its server reads as one without it.
        let older = example.replacingOccurrences(of: "  \"mlflow_url\" : \"http://mlflow.internal:5000\",\n", with: "")
        #expect(older != example)
        let decoded = try JSONDecoder().decode(RunState.self, from: Data(older.utf8))
        #expect(decoded.mlflowURL == nil && decoded.mlflowRunURL == nil && decoded.mlflowRunID == Self.example().mlflowRunID)
        #expect(Self.example().mlflowRunURL == "http://mlflow.internal:5000/#/experiments/1/runs/9f1c2e4b7a6d4f0e8c3b2a1908f7e6d5")
    }

    @Test func saveThenLoadRoundTripsAndStampsTheTime() throws {
        let store = try StateStore(directory: TestRun.makeRoot() + "/.syncd")
        var s = Self.example()
        try store.save(&s)
        #expect(s.updated != "2026-11-26T16:30:00.000Z")
        #expect(try store.load(s.runID) == s)
        #expect(!FileManager.default.fileExists(atPath: store.path(of: s.runID) + ".tmp"))
    }

    @Test func aCompleteTemporaryFileWinsOverTheOldStateAndATornOneIsIgnored() throws {
        let store = try StateStore(directory: TestRun.makeRoot() + "/.syncd")
        var old = Self.example()
        try store.save(&old)
        var newer = old
        newer.segments["a0001-r0000-s0000.rlog"] = .init(offset: 99_000, record: 2, item: 7)
        try Data(StateStore.encode(newer)).write(to: URL(fileURLWithPath: store.path(of: old.runID) + ".tmp"))
        #expect(try store.load(old.runID)?.segments == newer.segments)
        let torn = Array(StateStore.encode(newer).prefix(40))
        try Data(torn).write(to: URL(fileURLWithPath: store.path(of: old.runID) + ".tmp"))
        #expect(try store.load(old.runID) == old)
    }

    @Test func anUnreadableStateIsAnErrorNamingTheFileNotAFreshStart() throws {
        let store = try StateStore(directory: TestRun.makeRoot() + "/.syncd")
        try Data("{\"version\": 2}".utf8).write(to: URL(fileURLWithPath: store.path(of: "x")))
        #expect { try store.load("x") } throws: { ($0 as? SyncError)?.message.contains(store.path(of: "x")) == true }
    }
}
