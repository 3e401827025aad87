// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import RunSync

/// `syncd status`: per run, its state, what is pending, its MLflow run and the last error.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what is synced, pending or quarantined.",
        discussion: """
            One row per run under the roots (and per state whose run directory is gone): \
            ID, the run id as `runlog ls` shows it; STATE; POINTS PENDING, the metric points \
            not yet in MLflow; BYTES PENDING, the bytes of the logs not yet read and sent \
            (histograms, checkpoints and the rest included); OLDEST UNSENT, how long ago \
            the oldest point not yet in MLflow was logged; MLFLOW RUN, the run's page \
            (<server>/#/experiments/<experiment>/runs/<run>); LAST ERROR, why the run is \
            quarantined, or what syncd met while it retries (MLflow unreachable, a 5xx).

            States: new (syncd has not started on the run: no state yet); pending (data \
            or a status change waits to be sent); synced (everything in the logs is in \
            MLflow; a live run may write more); quarantined (MLflow refused something of \
            the run for good; tried again after quarantine_retry, or when syncd restarts).

            Columns are aligned on a terminal and separated by tabs otherwise; --json \
            writes one object per run.

            Examples:
              syncd status --root /scratch/runlogs
              syncd status --root /scratch/runlogs --json | jq -r 'select(.state=="quarantined") | .id'

            \(SyncdCommand.exitStatuses)
            """)

    @OptionGroup var options: LocationOptions
    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func run() throws {
        let settings: SyncSettings
        do { settings = try options.settings() } catch { throw fail(error.message, code: 2) }
        let report: StatusReport
        do { report = try StatusReport(settings: settings) } catch { throw fail(error.message, code: 4) }
        print(json ? report.jsonLines() : report.table(aligned: isatty(1) == 1), terminator: "")
        for e in report.errors { FileHandle.standardError.write(Data("syncd: \(e)\n".utf8)) }
        if report.rows.contains(where: { $0.state == "quarantined" }) { throw ExitCode(1) }
    }
}

/// `syncd validate`: checks a config (and flags) without syncing.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a config file and flags; exit 2 with the reason if invalid.")

    @OptionGroup var options: SettingsOptions

    func run() throws {
        let s: SyncSettings
        do { s = try options.settings() } catch { throw fail(error.message, code: 2) }
        print("ok: roots \(s.roots.joined(separator: ", ")); mlflow \(s.mlflowURL); state \(s.stateDirectory); \(s.poll ? "poll every \(s.pollInterval) s" : "inotify"); \(s.workers) workers; credentials: \(s.http.credentials)")
    }
}
