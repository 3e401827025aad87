// SPDX-License-Identifier: Apache-2.0
// syncd: uploads run directories to an MLflow tracking server, live and exactly once.
//
// Exit codes: 0 all synced (or stopped by SIGTERM); 1 some run quarantined
// (--once); 2 bad command line or config; 3 MLflow refused the credentials
// (401); 4 another fatal error (e.g. the state directory is not writable);
// 5 another syncd holds the state directory.
import ArgumentParser
import Foundation
import Logging
import RunSync

struct SyncdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syncd",
        abstract: "Uploads run directories to an MLflow tracking server, live and exactly once.",
        discussion: """
            Examples:
              syncd --root /scratch/runlogs --mlflow http://mlflow.internal:5000
              syncd status --root /scratch/runlogs

            \(exitStatuses)
            """,
        version: RunLogVersion.current,
        subcommands: [Run.self, Status.self, Clean.self, Validate.self],
        defaultSubcommand: Run.self)

    static let exitStatuses = """
        EXIT STATUS
          0  all synced (--once), or stopped by SIGTERM
          1  a run was quarantined (--once; status: a run is quarantined)
          2  bad flags or config (one line naming the setting)
          3  MLflow refused the credentials (401: not retried)
          4  another fatal error (e.g. the state directory is not writable)
          5  another syncd holds the state directory (its PID is named)
          6  --once gave up on what may pass: MLflow did not answer for
             --give-up-after, or a destination could not be written (a
             full disk); run it again later
        """
}

/// Where the runs and syncd's state are: what every subcommand needs.
struct LocationOptions: ParsableArguments {
    @Option(name: .customLong("root"), help: "A directory of runs (repeatable). Default: $RUNLOG_DIR, else ./runlogs.")
    var roots: [String] = []
    @Option(help: "The state directory. Default: <first root>/.syncd.")
    var state: String?
    @Option(help: "A config file (TOML); flags given here override it.")
    var config: String?

    /// The settings from the config file, then these flags; the server left unused.
    func settings() throws(SyncError) -> SyncSettings {
        try settings(server: nil, requireServer: false)
    }

    /// The settings from the config file, then these flags and the `server`
    /// flags, then the environment; validated.
    func settings(server flags: ServerFlags?, requireServer: Bool) throws(SyncError) -> SyncSettings {
        var s = SyncSettings()
        if let config { try s.apply(configFile: config) }
        if !roots.isEmpty { s.roots = roots }
        if s.roots.isEmpty { s.roots = [RunDirectory.root()] }
        if let mlflow = flags?.mlflow { s.mlflowURL = mlflow }
        if s.mlflowURL.isEmpty { s.mlflowURL = ProcessInfo.processInfo.environment["MLFLOW_TRACKING_URI"] ?? "" }
        if let tensorboard = flags?.tensorboard { s.tensorboardDirectory = tensorboard }
        if !requireServer, s.mlflowURL.isEmpty, s.tensorboardDirectory == nil { s.mlflowURL = "http://unused" }
        if let state { s.stateDirectory = state }
        if flags?.poll == true { s.poll = true }
        if let workers = flags?.workers { s.workers = workers }
        if let caBundle = flags?.caBundle { s.http.caBundle = caBundle }
        if let credentialsFile = flags?.credentialsFile { s.credentialsFile = credentialsFile }
        try s.validate()
        return s
    }
}

/// The values of `SettingsOptions`' own flags, read once they are parsed.
struct ServerFlags {
    var mlflow: String?
    var tensorboard: String?
    var poll: Bool
    var workers: Int?
    var caBundle: String?
    var credentialsFile: String?
}

/// Every setting: the locations, the server and how syncd works.
struct SettingsOptions: ParsableArguments {
    @OptionGroup var location: LocationOptions
    @Option(help: "The MLflow tracking server. Default: $MLFLOW_TRACKING_URI.")
    var mlflow: String?
    @Option(help: ArgumentHelp("A TensorBoard log directory to write runs to (alone or with --mlflow).", valueName: "dir"))
    var tensorboard: String?
    @Flag(help: "Poll file sizes instead of using inotify (for NFS, Lustre).")
    var poll = false
    @Option(help: "Runs synced at the same time.")
    var workers: Int?
    @Option(name: .customLong("ca-bundle"), help: "CA certificates to verify the server's TLS certificate with.")
    var caBundle: String?
    @Option(name: .customLong("credentials-file"), help: "A mode-0600 file with token = \"…\" or username/password.")
    var credentialsFile: String?

    /// The settings from the config file, then the flags, then the environment; validated.
    func settings(requireServer: Bool = true) throws(SyncError) -> SyncSettings {
        let flags = ServerFlags(mlflow: mlflow, tensorboard: tensorboard, poll: poll, workers: workers, caBundle: caBundle,
                                credentialsFile: credentialsFile)
        return try location.settings(server: flags, requireServer: requireServer)
    }
}

/// Prints a one-line error and gives the status to end with: every command
/// ends by returning or by throwing an `ExitCode` (this one, or its own),
/// and `main` alone exits, with that status.
func fail(_ message: String, code: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("syncd: \(message)\n".utf8))
    return ExitCode(code)
}

func exitStatus(for error: SyncError) -> Int32 {
    switch error.code {
    case .config: return 2
    case .unauthenticated: return 3
    case .locked: return 5
    case .unreachable: return 6
    default: return 4
    }
}

/// Logs to standard error; with `progress`, each line first erases the progress line.
func bootstrapLogging(_ level: String, progress: Bool = false) -> Logger {
    let lvl = Logger.Level(rawValue: level) ?? .info
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = lvl
        return progress ? ProgressAwareLogHandler(inner: h) : h
    }
    return Logger(label: "syncd")
}

// ArgumentParser's own exit code for a bad command line is 64; syncd documents 2.
do {
    var command = try SyncdCommand.parseAsRoot()
    try command.run()
} catch {
    let code = SyncdCommand.exitCode(for: error)
    let message = SyncdCommand.fullMessage(for: error)
    if code == .success {
        if !message.isEmpty { print(message) }
        exit(0)
    }
    if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
    exit(code == .validationFailure ? 2 : code.rawValue)
}
