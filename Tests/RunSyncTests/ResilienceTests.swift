// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import TestSupport
import Testing

@Suite("syncd against faults, refusals and authentication", .serialized, .needsMLflow, .namesSeed)
struct ResilienceTests {
    @Test func faultsBetweenSyncdAndMLflowAndARestartOfMLflowLoseAndDuplicateNothing() throws {
        let server = MLflowServer()
        try server.start()
        defer { server.stop() }
        let proxy = try FaultProxy(upstreamPort: server.port, faultRate: 0.35, stallSeconds: 4)
        defer { proxy.stop() }
        let root = TestRun.makeRoot()
        var runs: [TestRun] = []
        for i in 0..<3 {
            let run = try TestRun(root: root, id: "faulty-\(i)", project: "faults")
            try run.append([.config([Entry("seed", .int(Int64(i)))])])
            try run.metrics(["loss", "acc"], steps: 0..<2500) { k, s in Double(s * Int64(i + 1)) + (k == "acc" ? 0.5 : 0) }
            var h = Histogram(key: "grad", step: 5, time: 1_764_000_000_000_000, bins: .edges([0, 1, 2]), counts: [3, 4])
            h.count = 7
            try run.append([.histogram(h)])
            try run.checkpoint(name: "m", step: 1, file: "w.bin", bytes: Array(repeating: UInt8(i), count: 30_000))
            try run.end()
            runs.append(run)
        }
        let daemon = try SyncdProcess(["--root", root, "--mlflow", proxy.url, "--workers", "2"],
                                      environment: [:], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        // Restart MLflow once some of the data is in.
        let store = try StateStore(directory: root + "/.syncd")
        _ = eventually(timeout: 60) { ((try? store.load("faulty-0"))??.segments.values.first?.offset ?? 0) > 0 }
        server.stop()
        Thread.sleep(forTimeInterval: 2)
        try server.start()
        let done = eventually(timeout: 240) { (0..<3).allSatisfy { (try? store.load("faulty-\($0)"))??.status == .synced } }
        #expect(done != nil, "not all synced; log:\n\(daemon.log.suffix(3000))")
        #expect(daemon.stop(SIGTERM, timeout: 30) == 0)
        // Sent again, at most: the request of each answer the proxy dropped after MLflow applied it,
        // and the one in flight when MLflow stopped.
        let answersLost = proxy.counts[.resetAfter, default: 0]
        #expect(proxy.metricItemsResent <= 1000 * (answersLost + 1), "\(proxy.metricItemsResent) points sent again, \(answersLost) answers lost")
        let faults = proxy.counts.filter { $0.key != .none }.values.reduce(0, +)
        #expect(faults >= 5, "faults injected: \(proxy.counts)")
        let client = server.client()
        for run in runs {
            let state = try #require(try store.load(run.id))
            let runID = try #require(state.mlflowRunID)
            #expect(try client.findRuns(experimentID: state.experimentID!, tag: "runlog.run_id", value: run.id) == [runID])
            try Mirror(path: run.path).check(client, runID: runID, experimentID: state.experimentID!)
        }
    }

    /// A run of 20 steps whose MLflow run is deleted behind syncd's back
    /// after its first 10 were synced: MLflow refuses the rest. Its MLflow id.
    func runDeletedInMLflow(root: String, id: String, server: MLflowServer) throws -> String {
        let run = try TestRun(root: root, id: id, project: "quarantine")
        try run.metrics(["loss"], steps: 0..<10) { _, s in Double(s) }
        _ = try Sync.once(root: root, url: server.url)
        let mlflowID = try #require(try Sync.state(root: root, run: id).mlflowRunID)
        try server.client().deleteRun(mlflowID)
        try run.metrics(["loss"], steps: 10..<20) { _, s in Double(s) }
        try run.end()
        return mlflowID
    }

    @Test func aRunMLflowRefusesIsQuarantinedWithItsReasonAndTheOthersFinish() throws {
        let server = MLflowServer.shared
        let root = TestRun.makeRoot()
        _ = try runDeletedInMLflow(root: root, id: "refused", server: server)
        let client = server.client()
        let fine = try TestRun(root: root, id: "fine", project: "quarantine")
        try fine.metrics(["loss"], steps: 0..<100) { _, s in Double(s) }
        try fine.end()

        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"], timeout: 120, log: root + "/once.log")
        #expect(status == 1, "\(log)")
        #expect(log.contains("refused") && log.contains("quarantined"))
        let state = try Sync.state(root: root, run: "refused")
        #expect(state.status == .quarantined)
        #expect(state.lastError?.contains("HTTP 400") == true, "\(state.lastError ?? "")")
        let fineState = try Sync.state(root: root, run: "fine")
        #expect(fineState.status == .synced)
        try Mirror(path: fine.path).check(client, runID: try #require(fineState.mlflowRunID), experimentID: fineState.experimentID!)

        var settings = Sync.settings(root: root, url: server.url)
        try settings.validate()
        let report = try StatusReport(settings: settings)
        let row = try #require(report.rows.first { $0.id == "refused" })
        #expect(row.state == "quarantined" && row.lastError.contains("HTTP 400"))
    }

    @Test func aRunMLflowAnswers404ForIsQuarantined() throws {
        // Under a path MLflow does not serve, every request is answered 404.
        let server = MLflowServer.shared
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "not-found", project: "quarantine")
        try run.metrics(["loss"], steps: 0..<5) { _, s in Double(s) }
        try run.end()
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url + "/no-such-prefix", "--once"], timeout: 60, log: root + "/once.log")
        #expect(status == 1, "\(log)")
        let state = try Sync.state(root: root, run: "not-found")
        #expect(state.status == .quarantined && state.lastError?.contains("404") == true, "\(state.lastError ?? "")")
    }

    @Test func aTLSServerIsTrustedThroughTheCABundleAndOnlyThen() throws {
        let server = MLflowServer.shared
        let dir = TestRun.makeRoot()
        // A CA of our own and a certificate for 127.0.0.1 it signed.
        let make = """
            set -e; cd '\(dir)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=runlog-test-ca 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
            echo subjectAltName=IP:127.0.0.1 > san.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext 2>/dev/null
            """
        let openssl = try Process.run(URL(fileURLWithPath: "/bin/bash"), arguments: ["-c", make])
        openssl.waitUntilExit()
        #expect(openssl.terminationStatus == 0)
        let script = MLflowServer.packageRoot + "/Tests/Fixtures/tls-proxy/tls_proxy.py"
        // SIGKILL: the test process blocks SIGTERM in its threads, and the proxy would inherit that mask.
        let proxy = try #require(Lifeline.watch(
            script: "'\(MLflowServer.venv)/bin/python' '\(script)' '\(dir)/server.pem' '\(dir)/server.key' \(server.port) & p=$!; while read -r _; do :; done; kill -9 $p",
            readFirstLine: true))
        defer { try? proxy.pipe.fileHandleForWriting.close() }
        let url = "https://127.0.0.1:\(try #require(Int(proxy.firstLine)))"
        let root = dir + "/root"
        let run = try TestRun(root: root, id: "over-tls", project: "tls")
        try run.metrics(["loss"], steps: 0..<50) { _, s in Double(s) }
        try run.end()

        let (untrusted, untrustedLog) = try SyncdProcess.run(["--root", root, "--mlflow", url, "--once", "--give-up-after", "3"], timeout: 60, log: dir + "/untrusted.log")
        #expect(untrusted == 6, "\(untrustedLog)")
        #expect(untrustedLog.contains("certificate"), "\(untrustedLog)")
        let (trusted, trustedLog) = try SyncdProcess.run(["--root", root, "--mlflow", url, "--once", "--ca-bundle", dir + "/ca.pem"], timeout: 60, log: dir + "/trusted.log")
        #expect(trusted == 0, "\(trustedLog)")
        let state = try Sync.state(root: root, run: "over-tls")
        #expect(state.status == .synced)
        #expect(try server.client().metricHistory(runID: try #require(state.mlflowRunID), key: "loss").count == 50)
    }

    @Test func aRunningSyncdTriesAQuarantinedRunAgainAndFinishesItOnceTheCauseIsFixed() throws {
        let server = MLflowServer.shared
        let root = TestRun.makeRoot()
        let id = try runDeletedInMLflow(root: root, id: "comes-back", server: server)
        let client = server.client()

        try "quarantine_retry = 1\n".write(toFile: root + "/syncd.toml", atomically: true, encoding: .utf8)
        let daemon = try SyncdProcess(["--root", root, "--mlflow", server.url, "--config", root + "/syncd.toml"], log: root + "/syncd.log")
        defer { _ = daemon.stop(SIGKILL, timeout: 5) }
        // Deleted in MLflow: refused, quarantined, and tried again every second, in vain.
        #expect(eventually(timeout: 30) { daemon.log.components(separatedBy: "quarantined:").count > 3 } != nil, "\(daemon.log)")
        #expect(try Sync.state(root: root, run: "comes-back").status == .quarantined)
        // Restored: the next retry sends the rest.
        let body = Array(#"{"run_id":"\#(id)"}"#.utf8)
        #expect(try HTTPClient().send("POST", server.url + "/api/2.0/mlflow/runs/restore", json: body).status == 200)
        #expect(try eventually(timeout: 30) { try Sync.state(root: root, run: "comes-back").status == .synced } != nil, "\(daemon.log)")
        #expect(try client.metricHistory(runID: id, key: "loss").count == 20)
        #expect(try client.getRun(id).status == "FINISHED")
        #expect(daemon.stop(SIGTERM, timeout: 15) == 0)
    }

    @Test func basicAuthServerGivesAClearErrorWithoutCredentialsAndSyncsWithThem() throws {
        let dir = TestFiles.root + "/auth"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ini = """
            [mlflow]
            default_permission = READ
            database_uri = sqlite:///\(dir)/auth.db
            admin_username = admin
            admin_password = admin-password-1234
            authorization_function = mlflow.server.auth:authenticate_request_basic_auth

            """
        try ini.write(toFile: dir + "/auth.ini", atomically: true, encoding: .utf8)
        let server = MLflowServer(environment: [
            "MLFLOW_AUTH_CONFIG_PATH": dir + "/auth.ini", "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-secret-key",
            "MLFLOW_AUTH_ADMIN_PASSWORD": "admin-password-1234",
        ], arguments: ["--app-name", "basic-auth"])
        try server.start()
        defer { server.stop() }
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "authed", project: "auth")
        try run.metrics(["loss"], steps: 0..<20) { _, s in Double(s) }
        try run.end()

        let proxy = try FaultProxy(upstreamPort: server.port, faultRate: 0)
        defer { proxy.stop() }
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", proxy.url, "--once"], timeout: 60, log: root + "/noauth.log")
        #expect(status == 3, "\(log)")
        #expect(log.contains("401") && log.contains("MLFLOW_TRACKING_USERNAME"))
        #expect(proxy.answered(401) == 1, "a 401 must not be retried: MLflow answered 401 \(proxy.answered(401)) times")

        let (wrong, wrongLog) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"],
            environment: ["MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": "not-the-password"], timeout: 60, log: root + "/wrong.log")
        #expect(wrong == 3 && !wrongLog.contains("not-the-password"), "\(wrongLog)")

        let credentials = root + "/credentials"
        try "username = \"admin\"\npassword = \"admin-password-1234\"\n".write(toFile: credentials, atomically: true, encoding: .utf8)
        chmod(credentials, 0o644)
        let (loose, looseLog) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once", "--credentials-file", credentials], timeout: 60, log: root + "/loose.log")
        #expect(loose == 2 && looseLog.contains("chmod 600"), "\(looseLog)")
        chmod(credentials, 0o600)
        let (ok, okLog) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once", "--credentials-file", credentials, "--log-level", "trace"],
                                               timeout: 60, log: root + "/ok.log")
        #expect(ok == 0, "\(okLog)")
        let statusOutput = try SyncdProcess.run(["status", "--root", root], log: root + "/status.log").1
        let validate = try SyncdProcess.run(["validate", "--root", root, "--mlflow", server.url, "--credentials-file", credentials], log: root + "/validate.log").1
        for output in [okLog, statusOutput, validate] {
            // Neither the password nor the Authorization header's base64 of "admin:admin-password-1234".
            #expect(!output.contains("admin-password-1234") && !output.contains("YWRtaW46YWRtaW4tcGFzc3dvcmQtMTIzNA"), "\(output)")
        }

        // 403: a user with read permission only cannot create a run; that run is quarantined.
        var admin = HTTPClient.Options()
        admin.credentials = .basic(user: "admin", password: "admin-password-1234")
        let created = try HTTPClient(options: admin).send("POST", server.url + "/api/2.0/mlflow/users/create",
                                                          json: Array(#"{"username":"reader","password":"reader-password-1234"}"#.utf8))
        #expect(created.status == 200, "\(created.text)")
        let readOnly = try TestRun(root: root, id: "read-only", project: "auth")
        try readOnly.metrics(["loss"], steps: 0..<5) { _, s in Double(s) }
        try readOnly.end()
        let (forbidden, forbiddenLog) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"],
            environment: ["MLFLOW_TRACKING_USERNAME": "reader", "MLFLOW_TRACKING_PASSWORD": "reader-password-1234"], timeout: 60, log: root + "/forbidden.log")
        #expect(forbidden == 1, "\(forbiddenLog)")
        let state = try Sync.state(root: root, run: "read-only")
        #expect(state.status == .quarantined && state.lastError?.contains("403") == true, "\(state.lastError ?? "")")
    }
}
