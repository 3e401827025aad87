// SPDX-License-Identifier: Apache-2.0
import Foundation
import TestSupport
import RunSync
import Testing

/// A real MLflow tracking server on 127.0.0.1, started by the tests.
///
/// `shared` is started once per test process (it takes about 15 s) and
/// shared by the tests. Each server runs in its own process group under a
/// watchdog shell that kills the group when this process ends, however it ends.
final class MLflowServer: @unchecked Sendable {
    let port: Int
    let directory: String
    private let extraEnvironment: [String: String]
    private let extraArguments: [String]
    /// One per start; each holds its pipe open as long as this process lives.
    private var watchdogs: [Lifeline] = []
    private var pid: Int32 = 0
    private let lock = NSLock()

    var url: String { "http://127.0.0.1:\(port)" }

    static let venv: String = {
        if let v = ProcessInfo.processInfo.environment["RUNLOG_VENV"], !v.isEmpty { return v }
        return packageRoot + "/.venv"
    }()

    static let packageRoot: String = TestPaths.packageRoot.path

    /// The server most tests share. When it cannot start, the test process
    /// ends at once with one line saying why: every test that uses it would
    /// otherwise retry against a port nothing listens on until it gives up.
    static let shared: MLflowServer = {
        let s = MLflowServer()
        do { try s.start() } catch {
            FileHandle.standardError.write(Data("""
                MLflow did not start: \(error)
                The tests that need it cannot run: set RUNLOG_VENV to a venv with mlflow (tools/setup makes .venv), \
                or run the fast run without them (RUNLOG_TEST_MLFLOW=0).

                """.utf8))
            exit(1)
        }
        return s
    }()

    init(environment: [String: String] = [:], arguments: [String] = []) {
        port = Self.freePort()
        directory = TestFiles.root + "/mlflow-\(port)"
        extraEnvironment = environment
        extraArguments = arguments
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Starts the server and waits until `/health` answers (at most 120 s).
    func start() throws {
        guard TestEnvironment.mlflow else {
            Issue.record("this test starts MLflow but runs in the fast run: mark its suite .needsMLflow")
            throw SyncError(.config, "RUNLOG_TEST_MLFLOW=0: no MLflow server in the fast run")
        }
        let mlflow = Self.venv + "/bin/mlflow"
        guard FileManager.default.isExecutableFile(atPath: mlflow) else {
            throw SyncError(.config, "\(mlflow) not found: run tools/setup")
        }
        let args = ["server", "--workers", "1", "--host", "127.0.0.1", "--port", "\(port)",
                    "--backend-store-uri", "sqlite:///\(directory)/mlflow.db",
                    "--artifacts-destination", "\(directory)/artifacts", "--serve-artifacts"] + extraArguments
        let quoted = ([mlflow] + args).map { "'\($0)'" }.joined(separator: " ")
        let script = """
            setsid \(quoted) >>'\(directory)/server.log' 2>&1 &
            child=$!
            echo $child
            # stdin is a pipe this process holds: EOF means it is gone (even as a zombie).
            while kill -0 $child 2>/dev/null; do
                read -r -t 1 _; rc=$?
                if [ $rc -ne 0 ] && [ $rc -le 128 ]; then break; fi
            done
            kill -TERM -- -$child 2>/dev/null; sleep 3; kill -KILL -- -$child 2>/dev/null
            """
        var env = ProcessInfo.processInfo.environment
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        for (k, v) in extraEnvironment { env[k] = v }
        guard let watchdog = Lifeline.watch(script: script, environment: env, readFirstLine: true) else {
            throw SyncError(.config, "cannot start /bin/bash to run MLflow")
        }
        lock.withLock {
            watchdogs.append(watchdog)
            pid = Int32(watchdog.firstLine) ?? 0
        }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let r = try? HTTPClient().send("GET", url + "/health"), r.status == 200 { return }
            Thread.sleep(forTimeInterval: 0.25)
        }
        throw SyncError(.transport, "MLflow at \(url) not ready after 120 s; see \(directory)/server.log")
    }

    /// Stops the server (SIGTERM to its process group) and waits for it.
    func stop() {
        let pid = lock.withLock { self.pid }
        guard pid > 0 else { return }
        kill(-pid, SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while kill(pid, 0) == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        kill(-pid, SIGKILL)
        lock.withLock { watchdogs.last?.process }?.waitUntilExit()
    }

    func client(timeout: Double = 30) -> MLflowClient {
        var o = HTTPClient.Options()
        o.timeout = timeout
        return MLflowClient(baseURL: url, options: o)
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
        }
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

extension FileHandle {
    /// Reads up to the first newline.
    func availableDataLine() -> Data {
        var out = Data()
        while true {
            let d = readData(ofLength: 1)
            if d.isEmpty || d == Data([0x0A]) { return out }
            out.append(d)
        }
    }
}
