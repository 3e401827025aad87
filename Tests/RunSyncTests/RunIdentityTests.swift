// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

/// A run is what its logs say, wherever its directory goes; a run directory
/// that disappears does not leave its MLflow run RUNNING; experiments that
/// were deleted or renamed in MLflow follow one documented rule.
@Suite("Runs that move or vanish, experiments that change", .serialized, .needsMLflow)
struct RunIdentityTests {
    let server = MLflowServer.shared

    func post(_ path: String, _ json: String) throws -> Int {
        try HTTPClient().send("POST", server.url + "/api/2.0/mlflow/" + path, json: Array(json.utf8)).status
    }

    @Test(arguments: [true, false])
    func aRunDirectoryRenamedOrMovedToAnotherRootContinuesTheSameMLflowRun(poll: Bool) throws {
        let id = poll ? "mover-polling" : "mover-inotify"
        let top = TestRun.makeRoot()
        let (first, second) = (top + "/first", top + "/second")
        for r in [first, second] { try FileManager.default.createDirectory(atPath: r, withIntermediateDirectories: true) }
        let run = try TestRun(root: first, id: id, project: "identity")
        try run.metrics(["loss"], steps: 0..<50) { _, s in Double(s) }
        try "recheck_interval = 1\npoll_interval = 0.2\n".write(toFile: top + "/syncd.toml", atomically: true, encoding: .utf8)
        let daemon = try SyncdProcess(["--root", first, "--root", second, "--state", top + "/state", "--mlflow", server.url,
                                       "--config", top + "/syncd.toml"] + (poll ? ["--poll"] : []), log: top + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let store = try StateStore(directory: top + "/state")
        let client = server.client()
        func points() -> Int {
            guard let mlflowID = (try? store.load(id))??.mlflowRunID else { return 0 }
            return (try? client.metricHistory(runID: mlflowID, key: "loss").count) ?? 0
        }
        #expect(eventually(timeout: 60) { points() == 50 } != nil, "\(daemon.log)")
        let mlflowRun = try #require(try store.load(id)?.mlflowRunID)

        try FileManager.default.moveItem(atPath: first + "/\(id)", toPath: first + "/renamed")
        try run.metrics(["loss"], steps: 50..<100) { _, s in Double(s) }
        #expect(eventually(timeout: 60) { points() == 100 } != nil, "\(daemon.log)")
        try FileManager.default.moveItem(atPath: first + "/renamed", toPath: second + "/elsewhere")
        try run.metrics(["loss"], steps: 100..<150) { _, s in Double(s) }
        try run.end()
        #expect(eventually(timeout: 60) { points() == 150 && (try? client.getRun(mlflowRun).status) == "FINISHED" } != nil, "\(daemon.log)")

        #expect(try store.load(id)?.mlflowRunID == mlflowRun)
        let experiment = try #require(try store.load(id)?.experimentID)
        #expect(try client.findRuns(experimentID: experiment, tag: "runlog.run_id", value: id) == [mlflowRun])
        #expect(try client.metricHistory(runID: mlflowRun, key: "loss").map(\.step).sorted() == Array(0..<150))
        #expect(!daemon.log.contains("is also at"), "\(daemon.log)")
        #expect(daemon.log.contains("moved from \(first)/\(id) to \(first)/renamed"), "\(daemon.log)")
        #expect(daemon.stop(SIGTERM, timeout: 20) == 0)
    }

    @Test func twoDirectoriesOfOneRunAtOnceAreAConflictSaidOnce() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "twin", project: "identity")
        try run.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
        try run.end()
        try FileManager.default.copyItem(atPath: root + "/twin", toPath: root + "/twin-copy")
        try "poll_interval = 0.2\n".write(toFile: root + "/syncd.toml", atomically: true, encoding: .utf8)
        let daemon = try SyncdProcess(["--root", root, "--mlflow", server.url, "--config", root + "/syncd.toml", "--poll"], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let store = try StateStore(directory: root + "/.syncd")
        #expect(eventually(timeout: 60) { (try? store.load("twin"))??.status == .synced } != nil, "\(daemon.log)")
        Thread.sleep(forTimeInterval: 3)
        #expect(daemon.log.components(separatedBy: "is also at").count == 2, "\(daemon.log)")
        #expect(daemon.stop(SIGTERM, timeout: 20) == 0)
        let state = try Sync.state(root: root, run: "twin")
        #expect(try server.client().findRuns(experimentID: state.experimentID!, tag: "runlog.run_id", value: "twin").count == 1)
    }

    @Test func aDeletedRunDirectoryEndsItsMLflowRunAsLostInBoundedTime() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "vanishing", project: "identity")
        try run.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
        try "recheck_interval = 0.5\nlost_after = 2\n".write(toFile: root + "/syncd.toml", atomically: true, encoding: .utf8)
        let daemon = try SyncdProcess(["--root", root, "--mlflow", server.url, "--config", root + "/syncd.toml"], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let client = server.client()
        let store = try StateStore(directory: root + "/.syncd")
        #expect(eventually(timeout: 60) { (try? store.load("vanishing"))??.sentStatus == "RUNNING" } != nil, "\(daemon.log)")
        let id = try #require(try store.load("vanishing")?.mlflowRunID)
        // Gone at once (rm -rf removes files one by one: syncd may see a crash first, also FAILED).
        try FileManager.default.moveItem(atPath: run.path, toPath: TestFiles.root + "/deleted-\(UUID().uuidString)")
        let took = eventually(timeout: 30) { (try? client.getRun(id).status) == "FAILED" }
        #expect(took != nil && took! >= 1.5, "\(daemon.log)")
        #expect(try client.getRun(id).tags["runlog.status"] == "lost")
        #expect(daemon.stop(SIGTERM, timeout: 20) == 0)
    }

    @Test func aRunDirectoryDeletedWhileSyncdWasStoppedEndsAsLostAfterItStarts() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "gone-offline", project: "identity")
        try run.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
        try "recheck_interval = 0.5\nlost_after = 2\n".write(toFile: root + "/syncd.toml", atomically: true, encoding: .utf8)
        let args = ["--root", root, "--mlflow", server.url, "--config", root + "/syncd.toml"]
        let store = try StateStore(directory: root + "/.syncd")
        let first = try SyncdProcess(args, log: root + "/first.log")
        defer { _ = first.stop(SIGKILL, timeout: 5) }
        #expect(eventually(timeout: 60) { (try? store.load("gone-offline"))??.sentStatus == "RUNNING" } != nil, "\(first.log)")
        #expect(first.stop(SIGTERM, timeout: 20) == 0)
        let id = try #require(try store.load("gone-offline")?.mlflowRunID)
        try FileManager.default.moveItem(atPath: run.path, toPath: TestFiles.root + "/deleted-\(UUID().uuidString)")
        let second = try SyncdProcess(args, log: root + "/second.log")
        defer { _ = second.stop(SIGKILL, timeout: 5) }
        let client = server.client()
        #expect(eventually(timeout: 30) { (try? client.getRun(id).status) == "FAILED" } != nil, "\(second.log)")
        #expect(try client.getRun(id).tags["runlog.status"] == "lost")
        #expect(second.stop(SIGTERM, timeout: 20) == 0)
    }

    @Test func aDeletedExperimentIsRefusedWithItsReasonAndARenamedOneKeepsItsRuns() throws {
        let root = TestRun.makeRoot()
        let client = server.client()
        let doomed = try client.experimentID(named: "doomed")
        #expect(try post("experiments/delete", #"{"experiment_id":"\#(doomed)"}"#) == 200)
        let orphan = try TestRun(root: root, id: "orphan", project: "doomed")
        try orphan.end()
        let summary = try Sync.once(root: root, url: server.url)
        #expect(summary.quarantined.map(\.run) == ["orphan"])
        #expect(summary.quarantined.first?.reason.contains(#"experiment "doomed" (id \#(doomed)) is deleted in MLflow: restore it"#) == true,
                "\(summary.quarantined)")

        // Renamed while a daemon runs: the run already made stays; a new run goes to the project's name.
        let renameRoot = TestRun.makeRoot()
        let old = try TestRun(root: renameRoot, id: "before-rename", project: "renamable")
        try old.metrics(["loss"], steps: 0..<5) { _, s in Double(s) }
        let daemon = try SyncdProcess(["--root", renameRoot, "--mlflow", server.url], log: renameRoot + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        let store = try StateStore(directory: renameRoot + "/.syncd")
        #expect(eventually(timeout: 60) { (try? store.load("before-rename"))??.status == .synced } != nil, "\(daemon.log)")
        let first = try #require(try store.load("before-rename")?.experimentID)
        #expect(try post("experiments/update", #"{"experiment_id":"\#(first)","new_name":"renamed-away"}"#) == 200)
        let new = try TestRun(root: renameRoot, id: "after-rename", project: "renamable")
        try new.end()
        try old.metrics(["loss"], steps: 5..<10) { _, s in Double(s) }
        try old.end()
        #expect(eventually(timeout: 60) { ["before-rename", "after-rename"].allSatisfy { (try? store.load($0))??.status == .synced } } != nil, "\(daemon.log)")
        let second = try #require(try store.load("after-rename")?.experimentID)
        let byName = try client.experimentID(named: "renamable")
        #expect(second != first && second == byName)
        #expect(try client.metricHistory(runID: try #require(try store.load("before-rename")?.mlflowRunID), key: "loss").count == 10)
        #expect(try store.load("before-rename")?.experimentID == first)
        #expect(daemon.stop(SIGTERM, timeout: 20) == 0)
    }
}
