// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout
import TensorBoardEvents

/// Everything syncd is told: from a config file, then the command line.
public struct SyncSettings: Sendable {
    public var roots: [String] = []
    /// The MLflow tracking server; empty when runs go to TensorBoard only.
    public var mlflowURL: String = ""
    /// A TensorBoard log directory runs also (or only) go to; created if missing.
    public var tensorboardDirectory: String?
    /// Default: `<first root>/.syncd`.
    public var stateDirectory: String = ""
    /// Poll file sizes instead of relying on inotify (NFS, Lustre).
    public var poll = false
    public var pollInterval: Double = 1
    /// Runs synced at the same time.
    public var workers = 4
    /// Seconds between liveness checks of a live run (to see a crash).
    public var recheckInterval: Double = 10
    /// Seconds before a quarantined run is tried again (the cause may have
    /// been fixed on the server); a restart or a reload tries it at once.
    public var quarantineRetry: Double = 3600
    /// Seconds a request in flight may take to finish at shutdown.
    public var shutdownGrace: Double = 10
    /// Seconds after which a run whose directory disappeared while its
    /// MLflow run was RUNNING is set FAILED with `runlog.status` = `lost`,
    /// unless it reappears (moved) under a root first.
    public var lostAfter: Double = 60
    /// Whether each histogram record is also uploaded whole, as the artifact
    /// `histograms/<key>/<step>_<time µs>.json`; false: only each key's
    /// picture and its points (`histograms/<key>/distribution.svg`, `.json`).
    public var histogramRecords = true
    public var http = HTTPClient.Options()
    /// A file holding credentials (mode 0600), see `Credentials.load`.
    public var credentialsFile: String?
    /// The user and password `mlflowURL` held, taken out of it by `validate`.
    private var urlCredentials: Credentials?

    public init() {}

    /// Whether `url` holds a user and password (taken out of it by `validate`).
    public static func hasCredentials(url: String) -> Bool { URLUserInfo.split(url) != nil }

    /// Checks the settings and fills in defaults; the error names the setting.
    public mutating func validate() throws(SyncError) {
        guard !roots.isEmpty else { throw SyncError(.config, "root: at least one root directory is needed (--root DIR)") }
        for r in roots {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: r, isDirectory: &isDir), isDir.boolValue else {
                throw SyncError(.config, "root: \(r) is not a directory")
            }
        }
        if let dir = tensorboardDirectory { try Self.checkWritable(tensorboard: dir) }
        guard !mlflowURL.isEmpty || tensorboardDirectory != nil else {
            throw SyncError(.config, "mlflow: no server given (--mlflow URL or $MLFLOW_TRACKING_URI), nor --tensorboard DIR")
        }
        // User information in the URL becomes basic-auth credentials and
        // leaves the URL, which is printed and logged.
        if let (bare, user, password) = URLUserInfo.split(mlflowURL) {
            mlflowURL = bare
            urlCredentials = .basic(user: user, password: password)
        }
        if !mlflowURL.isEmpty {
            guard let url = URL(string: mlflowURL), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw SyncError(.config, "mlflow: \(HTTPClient.redact(mlflowURL)) is not an http(s) URL")
            }
        }
        if stateDirectory.isEmpty { stateDirectory = SyncStateDirectory(root: roots[0]).path }
        guard workers >= 1, workers <= 256 else { throw SyncError(.config, "workers: \(workers) is not in 1…256") }
        guard pollInterval > 0, recheckInterval > 0, quarantineRetry > 0, shutdownGrace >= 0, lostAfter > 0 else {
            throw SyncError(.config, "poll_interval, recheck_interval, quarantine_retry, shutdown_grace and lost_after must be positive")
        }
        if let ca = http.caBundle, !FileManager.default.isReadableFile(atPath: ca) {
            throw SyncError(.config, "ca_bundle: \(ca) is not a readable file")
        }
        http.credentials = try Credentials.load(file: credentialsFile)
        if case .none = http.credentials, let urlCredentials { http.credentials = urlCredentials }
    }

    /// Creates the TensorBoard log directory if it is missing and checks that
    /// syncd can write in it.
    static func checkWritable(tensorboard dir: String) throws(SyncError) {
        do {
            try EventFile.makeDirectories(dir)
        } catch {
            throw SyncError(.config, "tensorboard: \(error)")
        }
        guard access(dir, W_OK | X_OK) == 0 else {
            throw SyncError(.config, "tensorboard: \(dir): not writable: \(String(cString: strerror(errno)))")
        }
    }

    /// The settings that are durations: a number of seconds, or a string
    /// such as `"90s"`, `"45m"`, `"12h"`, `"7d"` (`HumanText.seconds`).
    static var durations: [String: WritableKeyPath<SyncSettings, Double>] {
        ["poll_interval": \.pollInterval, "recheck_interval": \.recheckInterval, "quarantine_retry": \.quarantineRetry,
         "shutdown_grace": \.shutdownGrace, "lost_after": \.lostAfter, "timeout": \.http.timeout]
    }

    /// Applies a config file (TOML: `ConfigFile`); a duration setting takes
    /// a number of seconds or a string such as `"45m"`.
    public mutating func apply(configFile path: String) throws(SyncError) {
        guard let data = try? RegularFile.contents(path, limit: 1 << 20, followingLink: true) else {
            throw SyncError(.config, "\(path): cannot read the config file (a regular file of at most 1 MiB)")
        }
        let table = try ConfigFile.parse(String(decoding: data, as: UTF8.self), file: path)
        for (key, (value, line)) in table {
            func fail(_ what: String) -> SyncError { SyncError(.config, "\(path):\(line): \(key): \(what)") }
            if let setting = Self.durations[key] {
                switch value {
                case .number(let v): self[keyPath: setting] = v
                case .string(let text):
                    guard let v = HumanText.seconds(text) else { throw fail("'\(text)' is not a duration like 90s, 45m, 12h or 7d") }
                    self[keyPath: setting] = v
                default: throw fail("wrong type")
                }
                continue
            }
            switch (key, value) {
            case ("roots", .strings(let v)), ("root", .strings(let v)): roots = v
            case ("root", .string(let v)): roots = [v]
            case ("mlflow", .string(let v)): mlflowURL = v
            case ("tensorboard", .string(let v)): tensorboardDirectory = v
            case ("state", .string(let v)): stateDirectory = v
            case ("poll", .bool(let v)): poll = v
            case ("workers", .number(let v)) where v == v.rounded(): workers = Int(v)
            case ("histogram_records", .bool(let v)): histogramRecords = v
            case ("ca_bundle", .string(let v)): http.caBundle = v
            case ("credentials_file", .string(let v)): credentialsFile = v
            case ("roots", _), ("root", _), ("mlflow", _), ("tensorboard", _), ("state", _), ("poll", _), ("workers", _), ("ca_bundle", _),
                ("credentials_file", _), ("histogram_records", _):
                throw fail("wrong type")
            default:
                throw fail("unknown setting")
            }
        }
    }
}

extension Credentials {
    /// Credentials from `file` when given, else from the environment:
    /// `MLFLOW_TRACKING_TOKEN`, or `MLFLOW_TRACKING_USERNAME` and
    /// `MLFLOW_TRACKING_PASSWORD`. The file must be mode 0600 (or stricter)
    /// and hold `token = "…"`, or `username = "…"` and `password = "…"`.
    public static func load(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(SyncError) -> Credentials {
        if let file {
            var st = stat()
            guard stat(file, &st) == 0 else { throw SyncError(.config, "credentials_file: \(file): \(SystemCall.errorText(errno))") }
            guard st.st_mode & 0o077 == 0 else {
                throw SyncError(.config, "credentials_file: \(file) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))); chmod 600 it")
            }
            guard let data = try? RegularFile.contents(file, limit: 1 << 20, followingLink: true) else {
                throw SyncError(.config, "credentials_file: \(file): unreadable (a regular file of at most 1 MiB)")
            }
            let table = try ConfigFile.parse(String(decoding: data, as: UTF8.self), file: file)
            func string(_ k: String) -> String? { if case .string(let s)? = table[k]?.0 { return s } else { return nil } }
            if let t = string("token") { return .token(t) }
            if let u = string("username"), let p = string("password") { return .basic(user: u, password: p) }
            throw SyncError(.config, "credentials_file: \(file) holds neither token nor username and password")
        }
        if let t = environment["MLFLOW_TRACKING_TOKEN"], !t.isEmpty { return .token(t) }
        if let u = environment["MLFLOW_TRACKING_USERNAME"], let p = environment["MLFLOW_TRACKING_PASSWORD"], !u.isEmpty {
            return .basic(user: u, password: p)
        }
        return .none
    }
}
