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
        let older = example.replacingOccurrences(of: "      \"mlflow_url\" : \"http://mlflow.internal:5000\",\n", with: "")
        #expect(older != example)
        let decoded = try #require(try RunStateFile.decode(Data(older.utf8)).destinations["mlflow"])
        #expect(decoded.mlflowURL == nil && decoded.mlflowRunURL == nil && decoded.mlflowRunID == Self.example().mlflowRunID)
        #expect(Self.example().mlflowRunURL == "http://mlflow.internal:5000/#/experiments/1/runs/9f1c2e4b7a6d4f0e8c3b2a1908f7e6d5?workflowType=machine_learning")
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

    /// A version 1 file: one MLflow state at the top level.
    static let versionOne = """
        {"ends": {"1/0": {"end_time": 1764000100000000, "status": "finished"}}, "experiment_id": "1", "last_error": null,
         "mlflow_run_id": "9f1c2e4b7a6d4f0e8c3b2a1908f7e6d5", "pending_bytes": 0, "run_id": "bright-otter-17",
         "segments": {"a0001-r0000-s0000.rlog": {"item": 0, "offset": 48213, "record": 0}}, "sent_attempt": 1,
         "sent_status": "FINISHED", "status": "synced", "updated": "2026-11-26T16:30:00.000Z", "version": 1}
        """

    @Test func aVersionOneFileIsReadAsTheMLflowStateAndSavedAsVersionTwo() throws {
        let store = try StateStore(directory: TestRun.makeRoot() + "/.syncd")
        let path = store.path(of: "bright-otter-17")
        try Data(Self.versionOne.utf8).write(to: URL(fileURLWithPath: path))
        var state = try #require(try store.load("bright-otter-17"))
        var expected = Self.example()
        expected.mlflowURL = nil
        #expect(state == expected)
        #expect(try store.load("bright-otter-17", destination: "tensorboard") == nil)
        state.segments["a0001-r0000-s0000.rlog"] = .init(offset: 50_000)
        try store.save(&state)
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        #expect(saved?["version"] as? Int == 2 && saved?["status"] == nil)
        let mlflow = (saved?["destinations"] as? [String: Any])?["mlflow"] as? [String: Any]
        #expect(mlflow?["mlflow_run_id"] as? String == "9f1c2e4b7a6d4f0e8c3b2a1908f7e6d5" && mlflow?["run_id"] == nil)
        #expect(try store.load("bright-otter-17") == state)
    }

    @Test func eachDestinationKeepsItsOwnStateInTheOneFileAndTheRunCombinesThem() throws {
        let store = try StateStore(directory: TestRun.makeRoot() + "/.syncd")
        var mlflow = Self.example()
        var tensorboard = RunState(runID: mlflow.runID, destination: "tensorboard")
        tensorboard.segments["a0001-r0000-s0000.rlog"] = .init(offset: 100, record: 1, item: 2)
        tensorboard.status = .quarantined
        tensorboard.lastError = "cannot write"
        tensorboard.pendingBytes = 4096
        try store.save(&mlflow)
        try store.save(&tensorboard)
        // A later save of one destination keeps the other's last saved state.
        mlflow.sentAttempt = 2
        try store.save(&mlflow)
        // Read by a new store, as another process would.
        let reread = try StateStore(directory: store.directory)
        #expect(try reread.load(mlflow.runID) == mlflow)
        #expect(try reread.load(mlflow.runID, destination: "tensorboard") == tensorboard)
        let file = try #require(try reread.loadFile(mlflow.runID))
        #expect(file.status == .quarantined && file.pendingBytes == 4096)
        #expect(file.lastError == "tensorboard: cannot write")
        tensorboard.status = .synced
        tensorboard.lastError = nil
        try store.save(&tensorboard)
        #expect(try reread.loadFile(mlflow.runID)?.status == .synced)
    }

    @Test func aVersionThisBuildDoesNotKnowIsAnErrorNamingTheFile() throws {
        let store = try StateStore(directory: TestRun.makeRoot() + "/.syncd")
        try Data(#"{"version": 3, "run_id": "x", "destinations": {}}"#.utf8).write(to: URL(fileURLWithPath: store.path(of: "x")))
        #expect { try store.load("x") } throws: {
            ($0 as? SyncError)?.message == store.path(of: "x") + ": state version 3 is not one this syncd reads (up to 2); move it away to sync the run from the start"
        }
        var s = RunState(runID: "x")
        #expect(throws: SyncError.self) { try store.save(&s) }
        #expect(try String(contentsOfFile: store.path(of: "x"), encoding: .utf8).contains("\"version\": 3"))
    }
}

@Suite struct StateStoreLinkTests {
    @Test func aLinkPlantedAtTheTemporaryNameIsNeverFollowed() throws {
        let dir = TestRun.makeRoot()
        let victim = dir + "/victim.txt"
        try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let store = try StateStore(directory: dir + "/state")
        #expect(symlink(victim, dir + "/state/linked.json.tmp") == 0)
        var state = RunState(runID: "linked")
        state.status = .synced
        try store.save(&state)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(try store.load("linked")?.status == .synced)
    }
}
