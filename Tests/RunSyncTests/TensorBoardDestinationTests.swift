// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import RunSync
import Testing

/// One log fanned out to MLflow and a TensorBoard directory; a TensorBoard
/// directory that cannot be written leaves MLflow unaffected.
@Suite("MLflow and TensorBoard together", .needsMLflow)
struct TensorBoardDestinationTests {
    let server = MLflowServer.shared

    /// A finished run of 200 steps, and settings for MLflow and `<root>/tb`.
    func setUp(_ id: String, in root: String) throws -> SyncSettings {
        let run = try TestRun(root: root, id: id, project: "both")
        try run.metrics(["loss", "acc"], steps: 0..<200) { k, s in k == "loss" ? 1 / Double(s + 1) : Double(s) / 200 }
        try run.end()
        var settings = Sync.settings(root: root, url: server.url)
        settings.tensorboardDirectory = root + "/tb"
        try settings.validate()
        return settings
    }

    @Test func aRunGoesToBothEachWithItsOwnCursors() throws {
        let root = TestRun.makeRoot()
        let settings = try setUp("both-ways", in: root)
        let summary = try SyncEngine(settings: settings, logger: Sync.logger).runOnce()
        #expect(summary.synced == ["both-ways"])

        let file = try #require(try StateStore(directory: root + "/.syncd").loadFile("both-ways"))
        let mlflow = try #require(file.destinations["mlflow"]), tb = try #require(file.destinations["tensorboard"])
        #expect(mlflow.status == .synced && tb.status == .synced && tb.sentStatus == "FINISHED")
        #expect(try server.client().metricHistory(runID: try #require(mlflow.mlflowRunID), key: "loss").count == 200)
        let events = try #require(tb.eventFiles["0"])
        let path = root + "/tb/" + events.directory + "/" + events.file
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64)
        #expect(events.directory.hasPrefix("both/") && size == events.length && events.step == 199)
        #expect(Set(events.metricKeys) == ["loss", "acc"])
        // Each destination's cursor went to the end of the log on its own.
        #expect(mlflow.segments == tb.segments)
    }

    @Test func aTensorBoardDirectoryThatCannotBeWrittenQuarantinesTheRunThereOnly() throws {
        let root = TestRun.makeRoot()
        let settings = try setUp("blocked", in: root)
        // The run's TensorBoard directory is a file: not a passing condition like a full disk.
        try Data("x".utf8).write(to: URL(fileURLWithPath: root + "/tb/both"))
        let summary = try SyncEngine(settings: settings, logger: Sync.logger).runOnce()
        #expect(summary.quarantined.map(\.run) == ["blocked"])
        let reason = try #require(summary.quarantined.first?.reason)
        #expect(reason.hasPrefix("tensorboard: \(root)/tb/both/") && reason.hasSuffix(": cannot create directory: Not a directory"))

        let file = try #require(try StateStore(directory: root + "/.syncd").loadFile("blocked"))
        let mlflow = try #require(file.destinations["mlflow"])
        #expect(mlflow.status == .synced && mlflow.lastError == nil && mlflow.sentStatus == "FINISHED")
        #expect(try server.client().metricHistory(runID: try #require(mlflow.mlflowRunID), key: "acc").count == 200)
        #expect(file.destinations["tensorboard"]?.status == .quarantined && file.destinations["tensorboard"]?.segments.isEmpty == true)
    }
}
