// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import Logging
import RunSync

/// `syncd [run]`: follows the roots until SIGTERM, or once with `--once`.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sync runs to MLflow (the default command).",
        discussion: """
            Follows the roots and uploads every run to MLflow as it is written, until \
            SIGTERM or Ctrl-C (SIGHUP re-reads the config). With --once it uploads what \
            is there now and exits; when MLflow does not answer (a mistyped port, https:// \
            on an http server, a server down) it retries with backoff, and gives up after \
            --give-up-after (60s) without an answer, with status 6. The daemon \
            retries for ever: `syncd status` shows the error meanwhile, and the log says \
            once when MLflow answers again. On a terminal, --once keeps a line of \
            progress: runs done of those found, metric points sent of those pending, and \
            the rate. Settings come from the flags, else the config file, \
            else the environment ($RUNLOG_DIR, $MLFLOW_TRACKING_URI, $MLFLOW_TRACKING_TOKEN \
            or $MLFLOW_TRACKING_USERNAME and $MLFLOW_TRACKING_PASSWORD).

            Examples:
              syncd --root /scratch/runlogs --mlflow http://mlflow.internal:5000
              syncd --root runlogs --mlflow http://127.0.0.1:5000 --once
              syncd --config /etc/runlog/syncd.toml --poll --workers 8

            \(SyncdCommand.exitStatuses)
            """)

    @OptionGroup var options: SettingsOptions
    @Flag(help: "Upload everything present, then exit: 0 when all is synced, 1 if a run was quarantined.")
    var once = false
    @Option(name: .customLong("give-up-after"), help: ArgumentHelp(
        "With --once: exit with status 6 when MLflow has not answered for this long (a wrong URL, a server down): 90s, 45m, 12h, 7d, or seconds.",
        valueName: "duration"))
    var giveUpAfter = "60s"
    @Flag(inversion: .prefixedNo, help: "With --once: keep a line of progress on standard error (default: when it is a terminal).")
    var progress: Bool?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        _ = try DurationFlag.seconds(giveUpAfter, flag: "--give-up-after", zero: false)
    }

    func run() throws {
        let showProgress = once && (progress ?? (isatty(2) == 1))
        let logger = bootstrapLogging(logLevel, progress: showProgress)
        let settings: SyncSettings
        do { settings = try options.settings() } catch { throw fail(error.message, code: 2) }
        if options.mlflow.map(SyncSettings.hasCredentials(url:)) == true {
            logger.warning("--mlflow holds a password: every user of this machine can read a command line (ps); prefer credentials_file")
        }
        let targets = [settings.mlflowURL.isEmpty ? nil : settings.mlflowURL, settings.tensorboardDirectory.map { "TensorBoard \($0)" }]
        logger.info("syncing \(settings.roots.joined(separator: ", ")) to \(targets.compactMap { $0 }.joined(separator: " and ")) (state in \(settings.stateDirectory), credentials: \(settings.http.credentials), \(settings.poll ? "polling" : "inotify"))")
        if once {
            do {
                let engine = try SyncEngine(settings: settings, logger: logger)
                // The total: every metric point not yet in MLflow, as `syncd status` counts them.
                let total = showProgress ? ((try? StatusReport(settings: settings))?.rows.reduce(0) { $0 + $1.pending.points } ?? 0) : 0
                let stop = showProgress ? ProgressLine.shared.start(engine, totalPoints: total) : {}
                let summary: SyncEngine.Summary
                let giveUp = try DurationFlag.seconds(giveUpAfter, flag: "--give-up-after", zero: false)
                do { summary = try engine.runOnce(giveUpAfter: giveUp) } catch {
                    stop()
                    throw error
                }
                stop()
                for q in summary.quarantined { logger.error("quarantined: \(q.run): \(q.reason)") }
                for f in summary.failing { logger.error("not delivered: \(f.run): \(f.reason)") }
                logger.info("\(summary.synced.count) synced, \(summary.pending.count) pending, \(summary.quarantined.count) quarantined")
                if !summary.quarantined.isEmpty { throw ExitCode(1) }
                if !summary.failing.isEmpty { throw ExitCode(6) }
            } catch let error as SyncError {
                throw fail(error.message, code: exitStatus(for: error))
            }
            return
        }
        do {
            try SyncService(settings: settings, options: options, logger: logger).run()
        } catch {
            throw fail(error.message, code: exitStatus(for: error))
        }
    }
}
