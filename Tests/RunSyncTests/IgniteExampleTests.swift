// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout
import RunSync
import TestSupport
import Testing

/// Ignite's W&B MNIST example, switched to runlog by its import
/// (tools/python/examples/mnist_with_runlog_logger.py), ends in MLflow with
/// everything W&B would have kept: metrics, histograms, console, best models.
@Suite("Ignite's W&B example in MLflow", .needsMLflow)
struct IgniteExampleTests {
    let server = MLflowServer.shared

    @Test func theExampleEndsWithItsModelsConsoleMetricsAndHistogramsInMLflow() throws {
        let root = TestRun.makeRoot()
        let script = MLflowServer.packageRoot + "/tools/python/examples/mnist_with_runlog_logger.py"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MLflowServer.venv + "/bin/python")
        p.arguments = [script, "--epochs", "2", "--batch_size", "8", "--train_size", "4400", "--val_size", "400", "--val_batch_size", "100"]
        var env = ProcessInfo.processInfo.environment
        env["PYTHONPATH"] = MLflowServer.packageRoot + "/tools/python"
        env["RUNLOG_DIR"] = root
        env["RUNLOG_RUN_ID"] = "ignite-mnist"
        env["RUNLOG_CONSOLE"] = nil
        env["OMP_NUM_THREADS"] = "1"  // a shared 2-core machine: torch's threads would fight
        p.environment = env
        let log = root + "/example.out"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        let printed = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "\(printed)")

        let run = root + "/ignite-mnist"
        let models = try FileManager.default.contentsOfDirectory(atPath: run).filter { $0.hasPrefix("best_model_") }.sorted()
        #expect(models.count == 2, "\(models)")  // n_saved=2: the older ones were deleted

        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.synced == ["ignite-mnist"] && summary.quarantined.isEmpty)
        let state = try Sync.state(root: root, run: "ignite-mnist")
        let runID = try #require(state.mlflowRunID), expID = try #require(state.experimentID)
        let client = server.client()

        // Metrics, params and histograms: all of them, as the logs hold them.
        let mirror = try Mirror(path: run)
        #expect(mirror.histograms.keys.contains { $0.hasPrefix("histograms/gradients/conv1.weight/") })
        #expect(mirror.histograms.keys.contains { $0.hasPrefix("histograms/parameters/fc2.bias/") })
        try mirror.check(client, runID: runID, experimentID: expID)
        #expect(try client.metricHistory(runID: runID, key: "training/batchloss").count == 11)  // 1100 iterations, every 100
        #expect(try client.metricHistory(runID: runID, key: "validation/accuracy").map(\.step).sorted() == [550, 1100])
        #expect(try client.getRun(runID).status == "FINISHED")

        // The best models, as files of the run.
        for model in models {
            let bytes = try client.getArtifact(experimentID: expID, runID: runID, path: ArtifactPath(["files", model]))
            #expect(bytes == [UInt8](try Data(contentsOf: URL(fileURLWithPath: run + "/" + model))), "\(model)")
        }
        let files = try client.listArtifacts(experimentID: expID, runID: runID, dir: "files")
        #expect(files.count == 2, "\(files)")

        // The console: ignite's log lines, as the terminal showed them.
        let stderr = try #require(try client.getArtifact(
            experimentID: expID, runID: runID, path: ArtifactPath("console/a0001-r0000-c0000/stderr.0000.log")))
        let text = String(decoding: stderr, as: UTF8.self)
        #expect(text.contains("Trainer INFO: Epoch[2] Complete."))
        #expect(text.contains("Val Evaluator INFO: Engine run finished."))
        #expect(printed.hasSuffix(text.split(separator: "\n").suffix(3).joined(separator: "\n") + "\n"))
    }
}
