// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout
import RunSync
import TestSupport
import Testing

/// Files saved in the run directory reach MLflow as `files/<path>`.
@Suite("Run files in MLflow", .needsMLflow)
struct RunFilesTests {
    let server = MLflowServer.shared

    static func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    static func artifact(_ client: MLflowClient, _ state: RunState, _ path: String) throws -> String? {
        try client.getArtifact(experimentID: state.experimentID!, runID: state.mlflowRunID!, path: ArtifactPath(path))
            .map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func filesOfAnEndedRunAreUploadedButNothingOutsideItNorRunlogsOwn() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "files-once", project: "files")
        try run.checkpoint(name: "model", step: 1, file: "w.bin", bytes: Array("weights".utf8))
        try Self.write("best model\n", run.path + "/best_model_1_accuracy=0.5.pt")
        try Self.write("notes\n", run.path + "/sub/dir/notes.txt")
        try Self.write("hidden\n", run.path + "/.hidden")
        try Self.write("secret\n", root + "/outside.txt")
        try FileManager.default.createSymbolicLink(atPath: run.path + "/leak.txt", withDestinationPath: root + "/outside.txt")
        try FileManager.default.createSymbolicLink(atPath: run.path + "/alias.pt", withDestinationPath: run.path + "/sub/dir/notes.txt")
        #expect(mkfifo(run.path + "/pipe", 0o644) == 0)
        try run.end()

        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.synced == ["files-once"] && summary.quarantined.isEmpty)
        let state = try Sync.state(root: root, run: "files-once")
        let client = server.client()
        #expect(try Self.artifact(client, state, "files/best_model_1_accuracy_0.5.pt") == "best model\n")
        #expect(try Self.artifact(client, state, "files/sub/dir/notes.txt") == "notes\n")
        #expect(try Self.artifact(client, state, "files/alias.pt") == "notes\n")
        for absent in ["files/leak.txt", "files/pipe", "files/.hidden", "files/_hidden", "files/logs/a0001-r0000-s0000.rlog",
                       "files/checkpoints/model/1-w.bin"] {
            #expect(try Self.artifact(client, state, absent) == nil, "\(absent)")
        }
        #expect(try Self.artifact(client, state, "checkpoints/model/1-w.bin") == "weights")
        #expect(Set(state.files.keys) == ["best_model_1_accuracy=0.5.pt", "sub/dir/notes.txt", "alias.pt"])

        // Changed later: uploaded again, the latest version wins; deleted: the upload stays.
        try Self.write("better model\n", run.path + "/best_model_1_accuracy=0.5.pt")
        try FileManager.default.removeItem(atPath: run.path + "/sub/dir/notes.txt")
        _ = try Sync.once(root: root, url: server.url)
        #expect(try Self.artifact(client, state, "files/best_model_1_accuracy_0.5.pt") == "better model\n")
        #expect(try Self.artifact(client, state, "files/sub/dir/notes.txt") == "notes\n")
    }

    @Test func syncdOnceUploadsTheFilesOfALiveRunThatHaveStoppedChanging() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "files-live-once", project: "files")
        try Self.write("old\n", run.path + "/old.txt")
        let old = Date().addingTimeInterval(-60)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: run.path + "/old.txt")
        try Self.write("new\n", run.path + "/new.txt")
        _ = try Sync.once(root: root, url: server.url)
        let state = try Sync.state(root: root, run: "files-live-once")
        let client = server.client()
        #expect(try Self.artifact(client, state, "files/old.txt") == "old\n")
        #expect(try Self.artifact(client, state, "files/new.txt") == nil)  // still changing, as far as syncd can tell
    }

    @Test func liveFilesWaitUntilStableSkipDeletedOnesAndHonourTheEndPolicy() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "files-live", project: "files")
        try #"[{"glob": "*.final", "policy": "end"}]"#.write(toFile: run.path + "/.runlog-save.json", atomically: true, encoding: .utf8)
        let daemon = try SyncdProcess(["--root", root, "--mlflow", server.url], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let client = server.client()
        func state() -> RunState? {
            guard let s = (try? StateStore(directory: root + "/.syncd").load("files-live")) ?? nil, s.mlflowRunID != nil else { return nil }
            return s
        }
        #expect(eventually(timeout: 30) { state() != nil } != nil, "\(daemon.log)")
        // A file that keeps changing is not uploaded until it stops; one deleted at once never is.
        try Self.write("epoch 0\n", run.path + "/progress.txt")
        try Self.write("gone soon\n", run.path + "/n_saved_old.pt")
        try Self.write("only at the end\n", run.path + "/model.final")
        usleep(300_000)
        try FileManager.default.removeItem(atPath: run.path + "/n_saved_old.pt")
        var text = "epoch 0\n"
        for epoch in 1...6 {
            usleep(400_000)
            text += "epoch \(epoch)\n"
            try Self.write(text, run.path + "/progress.txt")
            #expect(try Self.artifact(client, state()!, "files/progress.txt") == nil)
        }
        let uploaded = try eventually(timeout: 30) { try Self.artifact(client, state()!, "files/progress.txt") == text }
        #expect(uploaded != nil, "\(daemon.log)")
        #expect(try Self.artifact(client, state()!, "files/model.final") == nil)
        try run.end()
        let atEnd = try eventually(timeout: 30) { try Self.artifact(client, state()!, "files/model.final") == "only at the end\n" }
        #expect(atEnd != nil, "\(daemon.log)")
        #expect(try Self.artifact(client, state()!, "files/n_saved_old.pt") == nil)
        #expect(try eventually(timeout: 30) { state()?.status == .synced } != nil)
        #expect(try client.getRun(state()!.mlflowRunID!).status == "FINISHED")
        #expect(daemon.stop(SIGTERM, timeout: 15) == 0)
        #expect(!daemon.log.contains("quarantined"))
    }

    @Test func aFileChangedWhileItIsUploadedEndsInMLflowInItsLatestVersion() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "files-changing", project: "files")
        let path = run.path + "/model.pt"
        let first = [UInt8](repeating: UInt8(ascii: "a"), count: 16 << 20)
        let second = [UInt8](repeating: UInt8(ascii: "b"), count: 16 << 20)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(first)))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: path)
        try run.end()
        // The upload is held after its first MiB; the file is rewritten in place (same size, other bytes).
        let relay = PausingRelay(upstreamPort: server.port, marker: "/files/model.pt HTTP/1.1", after: 1 << 20)
        defer { relay.stop() }
        let daemon = try SyncdProcess(["--root", root, "--mlflow", relay.url], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        #expect(relay.waitUntilHeld(timeout: 60), "\(daemon.log)")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.write(contentsOf: second)
        try handle.close()
        relay.resume()
        func state() -> RunState? { (try? StateStore(directory: root + "/.syncd").load("files-changing")) ?? nil }
        #expect(eventually(timeout: 60) { state()?.status == .synced && state()?.files["model.pt"] != nil } != nil, "\(daemon.log)")
        let synced = try #require(state())
        #expect(synced.files["model.pt"]?.sha256 == Hex.string(SHA256Hasher.hash(second)))
        let artifact = try server.client().getArtifact(experimentID: synced.experimentID!, runID: synced.mlflowRunID!,
                                                       path: ArtifactPath("files/model.pt"))
        #expect(artifact.map { SHA256Hasher.hash($0) } == SHA256Hasher.hash(second))
        #expect(daemon.log.contains("model.pt: changed while uploading; tried again once stable"), "\(daemon.log)")
        #expect(daemon.stop(SIGTERM, timeout: 15) == 0)
    }
}
