// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

/// What syncd tells its user: a line per run started and completed, with the
/// MLflow run's page, `syncd status` as columns named for what they hold,
/// and the page in `runlog ls` and `runlog stats`.
@Suite(.needsMLflow) struct ReportingTests {
    let server = MLflowServer.shared

    func runlog(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: (syncdPath as NSString).deletingLastPathComponent + "/runlog")
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func syncdNamesEachMLflowRunAndStatusShowsPendingPointsAndPages() throws {
        let root = TestRun.makeRoot()
        let told = try TestRun(root: root, id: "told", project: "reporting")
        try told.metrics(["loss", "acc"], steps: 0..<60) { _, s in Double(s) }
        try told.end()
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url + "/", "--once"], timeout: 120, log: root + "/once.log")
        #expect(status == 0, "\(log)")
        let state = try Sync.state(root: root, run: "told")
        #expect(state.mlflowURL == server.url)
        let page = "\(server.url)/#/experiments/\(try #require(state.experimentID))/runs/\(try #require(state.mlflowRunID))?workflowType=machine_learning"
        #expect(state.mlflowRunURL == page)
        #expect(log.contains("run told: syncing to \(page)\n"), "\(log)")
        #expect(log.contains("run told: complete (finished, 120 points sent): \(page)\n"), "\(log)")
        #expect(log.components(separatedBy: "run told: ").count == 3, "\(log)")

        // A run syncd has not seen yet: new, with its points pending since they were logged.
        let later = try TestRun(root: root, id: "later", project: "reporting")
        try later.metrics(["loss"], steps: 0..<30, base: 1_764_000_000_000_000) { _, s in Double(s) }
        let age = Date().timeIntervalSince1970 - 1_764_000_000
        let (listed, table) = try SyncdProcess.run(["status", "--root", root], timeout: 30, log: root + "/status.log")
        #expect(listed == 0)
        let rows = table.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.first == ["ID", "STATE", "POINTS PENDING", "BYTES PENDING", "OLDEST UNSENT", "MLFLOW RUN", "LAST ERROR"])
        let laterRow = try #require(rows.first { $0.first == "later" })
        #expect(Array(laterRow[1...2]) == ["new", "30"])
        #expect(laterRow[4] == "\(Int(age) / 86400)d \(Int(age) % 86400 / 3600)h")
        #expect(laterRow[5...] == ["-", "-"])
        #expect(rows.first { $0.first == "told" } == ["told", "synced", "0", "0", "-", page, "-"])

        let (_, json) = try SyncdProcess.run(["status", "--root", root, "--json"], timeout: 30, log: root + "/status.jsonl")
        let objects = json.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let laterJSON = try #require(objects.first { $0["id"] as? String == "later" })
        #expect(laterJSON["points_pending"] as? Int == 30)
        #expect(abs((laterJSON["oldest_unsent_seconds"] as? Double ?? 0) - age) < 60)
        #expect(laterJSON["mlflow_url"] is NSNull)
        #expect(objects.first { $0["id"] as? String == "told" }?["mlflow_url"] as? String == page)

        // On a terminal the columns line up: each header starts where its cells do.
        var settings = Sync.settings(root: root, url: server.url)
        try settings.validate()
        let aligned = try StatusReport(settings: settings).table(aligned: true).split(separator: "\n").map(String.init)
        #expect(aligned.count == 3)
        let start = try #require(aligned[0].range(of: "MLFLOW RUN")).lowerBound.utf16Offset(in: aligned[0])
        let toldLine = try #require(aligned.first { $0.hasPrefix("told ") })
        #expect(try #require(toldLine.range(of: page)).lowerBound.utf16Offset(in: toldLine) == start)

        // runlog ls and stats show the page once syncd recorded it.
        let ls = try runlog(["ls", root]).split(separator: "\n").map(String.init)
        #expect(ls[0].hasSuffix("  SYNC    MLFLOW"))
        #expect(ls.first { $0.hasPrefix("told ") }?.hasSuffix("  synced  \(page)") == true)
        #expect(ls.first { $0.hasPrefix("later ") }?.hasSuffix("  -       -") == true)
        let stats = try runlog(["stats", told.path]).split(separator: "\n").map(String.init)
        #expect(stats[1] == "mlflow      \(page)")
        let statsLater = try runlog(["stats", later.path]).split(separator: "\n").map(String.init)
        #expect(!statsLater[1].hasPrefix("mlflow"))
    }

    @Test func onceShowsProgressWhenAskedOrOnATerminalOnly() throws {
        let root = TestRun.makeRoot()
        for id in ["p1", "p2"] {
            let run = try TestRun(root: root, id: id, project: "progress")
            try run.metrics(["loss", "acc"], steps: 0..<60) { _, s in Double(s) }
            try run.end()
        }
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once", "--progress"], timeout: 120, log: root + "/once.log")
        #expect(status == 0, "\(log)")
        // The last drawing, then the end of the line; log lines erase it before they are written.
        let final = try #require(log.range(of: "\rsyncd: runs 2/2, points 240/240 (100.0%), "))
        let rest = log[final.upperBound...]
        #expect(rest.range(of: #"^\d+ points/s\x1B\[K\n"#, options: .regularExpression) != nil, "\(rest)")
        #expect(log.contains("\r\u{1B}[K20"), "a log line erases the progress line first: \(log)")
        // Not a terminal, no flag: no progress.
        let again = TestRun.makeRoot()
        let run = try TestRun(root: again, id: "p3", project: "progress")
        try run.end()
        let (quiet, plain) = try SyncdProcess.run(["--root", again, "--mlflow", server.url, "--once"], timeout: 120, log: again + "/once.log")
        #expect(quiet == 0)
        #expect(!plain.contains("syncd: runs") && !plain.contains("\u{1B}"), "\(plain)")
    }

    @Test func credentialsInTheServerURLStayOutOfTheStateAndTheLinks() {
        let client = MLflowClient(baseURL: "https://alice:s3cret@mlflow.example:5000/")
        #expect(client.serverURL == "https://mlflow.example:5000")
        #expect(MLflowClient(baseURL: "http://127.0.0.1:5000").serverURL == "http://127.0.0.1:5000")
    }
}
