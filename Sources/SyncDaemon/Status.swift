// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import RunSync

/// `syncd status`: per run, its state, what is pending, the lag and the last error.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show what is synced, pending or quarantined.")

    @OptionGroup var options: LocationOptions
    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    func run() throws {
        let settings: SyncSettings
        do { settings = try options.settings() } catch { fail(error.message, code: 2) }
        let report: StatusReport
        do { report = try StatusReport(settings: settings) } catch { fail(error.message, code: 4) }
        print(json ? report.jsonLines() : report.table(), terminator: "")
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
        do { s = try options.settings() } catch { fail(error.message, code: 2) }
        print("ok: roots \(s.roots.joined(separator: ", ")); mlflow \(s.mlflowURL); state \(s.stateDirectory); \(s.poll ? "poll every \(s.pollInterval) s" : "inotify"); \(s.workers) workers; credentials: \(s.http.credentials)")
    }
}
