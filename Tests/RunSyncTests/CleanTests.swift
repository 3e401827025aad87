// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout
import RunSync
import TestSupport
import Testing

@Suite("syncd clean against a real MLflow server", .needsMLflow)
struct CleanTests {
    let server = MLflowServer.shared

    @Test func cleanRemovesOnlyRunsThatAreAllInMLflowAndEndedAndKeepsTheRest() throws {
        let root = TestRun.makeRoot()
        var runs: [String: TestRun] = [:]
        for id in ["done", "failed", "running", "crashed", "behind"] {
            let run = try TestRun(root: root, id: id, project: "clean")
            try run.metrics(["loss"], steps: 0..<100) { _, s in Double(s) }
            runs[id] = run
        }
        try runs["done"]!.checkpoint(name: "model", step: 99, file: "model.bin", bytes: Array(repeating: 7, count: 4096))
        try runs["done"]!.end()
        try runs["failed"]!.end(.failed)
        try runs["crashed"]!.crash()
        _ = try Sync.once(root: root, url: server.url)
        // Ended after the last sync: its end is not in MLflow yet.
        try runs["behind"]!.end()
        let late = try TestRun(root: root, id: "never-synced", project: "clean")
        try late.end()
        let doneState = try Sync.state(root: root, run: "done")
        let store = root + "/.syncd"

        func clean(_ args: [String]) throws -> String {
            let (status, out) = try SyncdProcess.run(["clean", "--root", root] + args, timeout: 60, log: root + "/clean-\(args.count).log")
            #expect(status == 0, "\(out)")
            return out
        }
        // Everything changed moments ago: an hour's threshold keeps it all.
        #expect(try clean(["--older-than", "1h"]).contains("removed 0 runs, 0 B; kept 6"))
        let dry = try clean(["--older-than", "0", "--dry-run", "--verbose"])
        #expect(dry.contains("would remove\tdone\tfinished") && dry.contains("would remove\tfailed\tfailed"), "\(dry)")
        #expect(dry.contains("kept\trunning\tit is running") && dry.contains("kept\tcrashed\tit is crashed"), "\(dry)")
        #expect(dry.contains("kept\tbehind\tMLflow does not have its end status yet"), "\(dry)")
        #expect(dry.contains("kept\tnever-synced\tnever synced"), "\(dry)")
        #expect(FileManager.default.fileExists(atPath: runs["done"]!.path))

        let out = try clean(["--older-than", "0s"])
        #expect(out.contains("removed 2 runs"), "\(out)")
        for id in ["done", "failed"] {
            #expect(!FileManager.default.fileExists(atPath: root + "/" + id), "\(id) is still there")
            #expect(!FileManager.default.fileExists(atPath: store + "/\(id).json"))
        }
        for id in ["running", "crashed", "behind", "never-synced"] {
            #expect(FileManager.default.fileExists(atPath: root + "/" + id + "/logs"), "\(id) was removed")
        }
        // MLflow keeps what was removed from the disk.
        let mlflowID = try #require(doneState.mlflowRunID)
        let client = server.client()
        #expect(try client.getRun(mlflowID).status == "FINISHED")
        #expect(try client.metricHistory(runID: mlflowID, key: "loss").count == 100)
        // The kept run that was behind is synced by the next pass, and can be cleaned then.
        _ = try Sync.once(root: root, url: server.url)
        #expect(try clean(["--older-than", "0"]).contains("removed 2 runs"))
        #expect(!FileManager.default.fileExists(atPath: root + "/behind"))
    }

    @Test func consoleOutputAndRunFilesWrittenAfterTheLastSyncKeepARun() throws {
        let root = TestRun.makeRoot()
        var runs: [String: TestRun] = [:]
        var consoles: [String: LogWriter] = [:]
        for id in ["all-in", "console-late", "file-late", "file-new"] {
            let run = try TestRun(root: root, id: id, project: "clean")
            consoles[id] = try ConsoleSyncTests.consoleLog(run)
            _ = try consoles[id]!.append([.console(ConsoleText(stream: .stdout, time: 1_764_000_000_000_001, text: "epoch 1\n"))])
            try consoles[id]!.sync()
            try Data("weights 1".utf8).write(to: URL(fileURLWithPath: run.path + "/best_model.pt"))
            try run.end()
            runs[id] = run
        }
        _ = try Sync.once(root: root, url: server.url)
        // After the sync: a child process still printing, a file saved again, a file saved anew.
        _ = try consoles["console-late"]!.append([.console(ConsoleText(stream: .stderr, time: 1_764_000_000_000_002, text: "late\n"))])
        try consoles["console-late"]!.sync()
        try Data("weights 2".utf8).write(to: URL(fileURLWithPath: runs["file-late"]!.path + "/best_model.pt"))
        try Data("plot".utf8).write(to: URL(fileURLWithPath: runs["file-new"]!.path + "/plot.png"))

        func clean(_ args: [String]) throws -> String {
            let (status, out) = try SyncdProcess.run(["clean", "--root", root, "--older-than", "0"] + args, timeout: 60,
                                                     log: root + "/clean-\(args.count).log")
            return "\(status.map(String.init) ?? "killed"): \(out)"
        }
        let dry = try clean(["--dry-run", "--verbose"])
        #expect(dry.hasPrefix("0: ") && dry.contains("would remove\tall-in\tfinished"), "\(dry)")
        #expect(dry.contains("kept\tconsole-late\t1 console record not in MLflow yet"), "\(dry)")
        #expect(dry.contains("kept\tfile-late\t1 run file not in MLflow yet (best_model.pt)"), "\(dry)")
        #expect(dry.contains("kept\tfile-new\t1 run file not in MLflow yet (plot.png)"), "\(dry)")
        // A state saved before syncd recorded how far the console is in MLflow: the next pass records it.
        let file = try StateStore(directory: root + "/.syncd").path(of: "all-in")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any])
        var destinations = try #require(json["destinations"] as? [String: [String: Any]])
        #expect(destinations["mlflow"]?.removeValue(forKey: "consoles_uploaded") != nil)
        json["destinations"] = destinations
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: file))
        #expect(try clean(["--dry-run", "--verbose"]).contains("kept\tall-in\t1 console record not in MLflow yet"))
        // The next pass uploads them; then every run can go.
        _ = try Sync.once(root: root, url: server.url)
        let state = try Sync.state(root: root, run: "console-late")
        let stderr = try ConsoleSyncTests.artifacts(server.client(), state, log: "a0001-r0000-c0000", stream: "stderr")
        #expect(stderr?.text == "late\n")
        let out = try clean([])
        #expect(out.hasPrefix("0: ") && out.contains("removed 4 runs"), "\(out)")
    }

    @Test func anAgeThatIsNotOneIsABadFlag() throws {
        let root = TestRun.makeRoot()
        let (status, out) = try SyncdProcess.run(["clean", "--root", root, "--older-than", "soon"], timeout: 30, log: root + "/bad.log")
        #expect(status == 2 && out.split(separator: "\n").first == "Error: --older-than: 'soon' is not a duration like 90s, 45m, 12h or 7d", "\(out)")
    }
}
