// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RunLog

/// The `runlog` command and its exit statuses.
struct RunLogCommand: ParsableCommand {
    static let exitStatuses = """
        EXIT STATUS
          0  success (verify: intact; an incomplete tail is reported, not damage)
          1  damage found: verify lists it; dump, stats, export print what is readable
          2  PATH cannot be read (missing, not a run, not a log, I/O error); bad usage
          3  export: the output cannot be written (not writable, disk full)
        """

    static let configuration = CommandConfiguration(
        commandName: "runlog",
        abstract: "Inspect, verify, list, summarize, export and generate run logs.",
        discussion: """
            PATH is a run directory (ROOT/<run-id>, all its logs in order) or a single .rlog file. \
            ROOT is an argument, else $RUNLOG_DIR, else ./runlogs.

            \(exitStatuses)
            """,
        version: RunLogVersion.current,
        subcommands: [
            DumpCommand.self, LogsCommand.self, VerifyCommand.self, ListCommand.self, StatsCommand.self,
            ExportCommand.self, DemoCommand.self,
        ])

    /// Parses the command line, runs the command and exits with a documented status.
    static func runAndExit() -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            Glibc.exit(0)
        } catch let e as CLIError {
            if let message = e.message { Diagnostics.error(message) }
            Glibc.exit(e.status.rawValue)
        } catch let e as FormatError {
            Diagnostics.error(e.description)
            Glibc.exit(CLIError.Status.cannotRead.rawValue)
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                Glibc.exit(0)
            }
            Diagnostics.line(message)
            Glibc.exit(CLIError.Status.cannotRead.rawValue)
        }
    }
}
