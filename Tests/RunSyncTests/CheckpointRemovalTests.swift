// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import RunSync
import TestSupport
import Testing

/// A checkpoint its writer removed on purpose (spec §4.9) is not missing;
/// one deleted without a record still is.
@Suite("Removed checkpoints against a real MLflow server", .needsMLflow)
struct CheckpointRemovalTests {
    let server = MLflowServer.shared

    @Test func aRetiredCheckpointIsSkippedQuietlyAndALostOneIsReported() throws {
        let root = TestRun.makeRoot()
        var options = RunOptions()
        options.mode = .enabled
        let run = try Run(project: "e2e", id: "retired", root: root, options: options)
        let file = URL(fileURLWithPath: root + "/model.bin")
        var saved: [Checkpoint] = []
        for step in 0..<3 {
            run.log(["loss": 1 / Double(step + 1)], step: Int64(step))
            try Data(repeating: UInt8(step), count: 1000 + step).write(to: file)
            saved.append(try #require(try run.saveCheckpoint(name: "model", file: file, step: Int64(step), aliases: ["latest"])))
        }
        try run.removeCheckpoint(path: saved[0].path)  // retired: recorded, then deleted
        let directory = try #require(run.directory)
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/" + saved[0].path))
        try FileManager.default.removeItem(atPath: directory.path + "/" + saved[1].path)  // lost: no record
        #expect(run.finish(exitCode: 0))
        #expect(throws: RunError.self) { try run.removeCheckpoint(path: "logs/x") }

        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.synced == ["retired"] && summary.quarantined.isEmpty)
        let state = try Sync.state(root: root, run: "retired")
        let runID = try #require(state.mlflowRunID), expID = try #require(state.experimentID)
        let client = server.client()
        let tags = try client.getRun(runID).tags
        #expect(tags["runlog.missing.\(saved[0].path)"] == nil)
        #expect(tags["runlog.missing.\(saved[1].path)"] == "file deleted before upload")
        #expect(tags["runlog.checkpoint.latest"] == saved[2].path)
        #expect(try client.getArtifact(experimentID: expID, runID: runID, path: ArtifactPath(saved[0].path)) == nil)
        let kept = try client.getArtifact(experimentID: expID, runID: runID, path: ArtifactPath(saved[2].path))
        #expect(kept == [UInt8](repeating: 2, count: 1002))
        #expect(try client.getArtifact(experimentID: expID, runID: runID, path: ArtifactPath(saved[0].path + ".json")) != nil)
    }
}
