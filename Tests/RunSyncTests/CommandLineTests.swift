// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

/// syncd's command line: version, help with examples and exit codes, flags per subcommand.
@Suite struct CommandLineTests {
    func run(_ arguments: [String]) throws -> (Int32?, String) {
        let dir = NSTemporaryDirectory() + "syncd-cli-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try SyncdProcess.run(arguments, timeout: 30, log: dir + "/out")
    }

    @Test func versionIsRunlogsVersion() throws {
        let (status, out) = try run(["--version"])
        #expect(status == 0)
        #expect(out == "0.1.0\n")
    }

    @Test func runHelpHasExamplesAndExitStatuses() throws {
        let (status, out) = try run(["run", "--help"])
        #expect(status == 0)
        #expect(out.contains("Examples:\n  syncd --root /scratch/runlogs --mlflow http://mlflow.internal:5000\n"))
        #expect(out.contains("""
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
            """))
        #expect(out.contains("""
              --give-up-after <duration>
                                      With --once: exit with status 6 when MLflow has not
                                      answered for this long (a wrong URL, a server down):
                                      90s, 45m, 12h, 7d, or seconds. (default: 60s)
            """))
    }

    /// `--give-up-after` takes a duration as `clean --older-than` does, and a
    /// bare number of seconds as it always did; anything else is refused with
    /// status 2 and a line naming the flag.
    @Test func giveUpAfterTakesADuration() throws {
        let root = TestRun.makeRoot()
        for bad in ["3x", "0", "0s", "-1", "-1m", "inf", "1e3", "5 m", "2 s", "1.5.0h"] {
            let (status, out) = try run(["--root", root, "--mlflow", "http://127.0.0.1:9", "--once", "--give-up-after=\(bad)"])
            #expect(status == 2, "'\(bad)': \(out)")
            #expect(out.split(separator: "\n").first == "Error: --give-up-after: '\(bad)' is not a duration above 0, like 90s, 45m, 12h or 7d", "\(out)")
        }
        // Nothing to send: accepted, and done at once.
        for good in ["7d", "12h", "45m", "90s", "30", "1.5h"] {
            let (status, out) = try run(["--root", root, "--mlflow", "http://127.0.0.1:9", "--once", "--give-up-after", good])
            #expect(status == 0, "'\(good)': \(out)")
        }
        // A run to send to a port where nothing listens: --once waits that long, then exits 6.
        try Self.finishedRun(root)
        for (value, said) in [("2s", "2 s"), ("0.03m", "2 s")] {
            let started = Date()
            let (status, out) = try run(["--root", root, "--mlflow", "http://127.0.0.1:\(MLflowServer.freePort())", "--once", "--give-up-after", value])
            let took = Date().timeIntervalSince(started)
            #expect(status == 6, "\(value): \(out)")
            #expect(out.contains(" did not answer for \(said) (--give-up-after): "), "\(value): \(out)")
            #expect(took >= 1.8 && took < 15, "\(value): \(took) s")
        }
    }

    static func finishedRun(_ root: String) throws {
        let run = try TestRun(root: root, id: "waiting", project: "cli")
        try run.metrics(["loss"], steps: 0..<5) { _, s in Double(s) }
        try run.end()
    }

    @Test func statusAndCleanOfferOnlyTheFlagsTheyUse() throws {
        for command in ["status", "clean"] {
            let (status, out) = try run([command, "--help"])
            #expect(status == 0)
            for flag in ["--root", "--state", "--config"] { #expect(out.contains(flag), "\(command) \(flag)") }
            for flag in ["--poll", "--workers", "--mlflow", "--ca-bundle", "--credentials-file"] {
                #expect(!out.contains(flag), "\(command) \(flag)")
            }
            let (refused, message) = try run([command, "--workers", "4"])
            #expect(refused == 2)
            #expect(message.contains("Unknown option '--workers'"))
        }
    }

    @Test func aStateDirectoryThatCannotBeMadeIsFatalWithStatus4AndOneLine() throws {
        let dir = NSTemporaryDirectory() + "syncd-cli-state-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir + "/root", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        let (status, out) = try run(["--root", dir + "/root", "--mlflow", "http://127.0.0.1:9", "--state", dir + "/file/state", "--once"])
        #expect(status == 4, "\(out)")
        let errors = out.split(separator: "\n").filter { !$0.contains(" info ") }
        #expect(errors == ["syncd: \(dir)/file/state: cannot create the state directory: Not a directory"], "\(out)")
    }

    /// status and clean build their settings without the server flags they
    /// don't take: reading those must not trap (ArgumentParser's "Can't read a
    /// value from a parsable argument definition").
    @Test func statusAndCleanRunOnAnEmptyRoot() throws {
        let root = NSTemporaryDirectory() + "syncd-cli-root-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (status, out) = try run(["status", "--root", root, "--json"])
        #expect(status == 0, "\(out)")
        #expect(out == "")
        let (cleaned, text) = try run(["clean", "--root", root, "--dry-run"])
        #expect(cleaned == 0, "\(text)")
        #expect(text == "would remove 0 runs, 0 B; kept 0\n")
    }
}
