// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import RunSync

/// `syncd clean`: removes run directories that are all in MLflow.
struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove run directories that are all in MLflow and ended a while ago.",
        discussion: """
            A run is removed only if its latest attempt ended (finished, failed or killed: \
            not running, and not crashed, since a requeued job may continue it), syncd's \
            state says it is synced with its end status, reading its logs from the saved \
            cursors finds nothing left to send, and nothing in its directory changed for \
            --older-than. Its directory goes first, then its state file.

            Examples:
              syncd clean --root /scratch/runlogs --dry-run
              syncd clean --root /scratch/runlogs --older-than 7d

            \(SyncdCommand.exitStatuses)
            """)

    @OptionGroup var options: LocationOptions
    @Option(name: .customLong("older-than"), help: ArgumentHelp("Only runs unchanged for this long: 90s, 45m, 12h, 7d, or seconds.", valueName: "age"))
    var olderThan: String = "24h"
    @Flag(name: .customLong("dry-run"), help: "Show what would be removed; remove nothing.")
    var dryRun = false
    @Flag(name: .shortAndLong, help: "Also list the runs kept, with the reason.")
    var verbose = false

    func validate() throws {
        _ = try DurationFlag.seconds(olderThan, flag: "--older-than", zero: true)
    }

    func run() throws {
        let settings: SyncSettings
        do { settings = try options.settings() } catch { throw fail(error.message, code: 2) }
        let cleaner: Cleaner
        let age = try DurationFlag.seconds(olderThan, flag: "--older-than", zero: true)
        do { cleaner = try Cleaner(settings: settings, olderThan: age) } catch { throw fail(error.message, code: 4) }
        var freed: Int64 = 0
        var removed = 0
        for c in cleaner.candidates {
            if !dryRun {
                do { try cleaner.remove(c) } catch {
                    FileHandle.standardError.write(Data("syncd: \(error.message)\n".utf8))
                    continue
                }
            }
            print("\(dryRun ? "would remove" : "removed")\t\(c.run)\t\(c.status.rawValue)\t\(Self.size(c.bytes))\tMLflow run \(c.mlflowRunID)")
            freed += c.bytes
            removed += 1
        }
        if verbose {
            for k in cleaner.kept { print("kept\t\(k.run)\t\(k.reason)") }
        }
        print("\(dryRun ? "would remove" : "removed") \(removed) run\(removed == 1 ? "" : "s"), \(Self.size(freed)); kept \(cleaner.kept.count)")
        if removed < cleaner.candidates.count { throw ExitCode(4) }
    }

    static func size(_ bytes: Int64) -> String { HumanText.bytes(bytes) }
}
