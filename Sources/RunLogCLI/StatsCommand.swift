// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import RunLog

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Summarize a log or run: records, metric curves, histograms, checkpoints, size.",
        discussion: """
            Records per kind (metrics counted in rows); for each metric key its count, first \
            and last step, minimum and maximum (NaN left out), last value and a sparkline of \
            its curve; histograms and checkpoints by key and name; the time from the first \
            record to the last; bytes on disk, the same over the metric points (the whole \
            log counts: histograms, checkpoints and every other record included), an \
            estimate of the bytes on disk of the metrics (per point) and of the histograms \
            (each), sharing each frame's bytes among its records by their decoded sizes, \
            and the compression ratio (frame contents decoded / stored).

            PATH is a run directory, a .rlog file, or a run id as `runlog ls` shows it, \
            looked up under ROOT (--root, else $RUNLOG_DIR, else ./runlogs). Several PATHs \
            give one report each, separated by a blank line (with --json, one line each). \
            When syncd recorded where the run went, a line mlflow gives its page in MLflow.

            Examples:
              runlog stats runlogs/3kx9a0qz
              runlog stats 3kx9a0qz 7fj2m1pa
              runlog stats --json runlogs/3kx9a0qz | jq '.metrics.loss.last'

            \(RunLogCommand.exitStatuses)
            """)

    @Argument(help: "Run directories, .rlog files or run ids under ROOT.")
    var paths: [String]

    @OptionGroup var runs: RunArguments

    @Flag(help: "Write one JSON object per PATH instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Where syncd keeps its state (default: .syncd next to the run directory).", valueName: "dir"))
    var syncState: String?

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("say which run or log: PATH") }
    }

    func run() throws {
        let output = Output()
        var wrote = false
        try RunArguments.forEach(paths) { path in
            try report(path, output: output, wrote: &wrote)
        }
    }

    /// Writes the report of one PATH, after a blank line when a text report came before.
    private func report(_ path: String, output: Output, wrote: inout Bool) throws {
        let input = try runs.resolve(path)
        var stats = RunStats()
        var source: FileSource?
        var header = [UInt8](repeating: 0, count: 4)
        var problems = 0
        let scan = LogScan { p in
            Diagnostics.warning(p.line)
            problems += 1
        }
        try scan.run(input, header: { file, reader in
            stats.add(header: reader.header)
            stats.bytesOnDisk += LogInput.fileSize(file.path) ?? 0
            source = try? FileSource(path: file.path)
        }, frame: { _, frame in
            stats.frames += 1
            stats.payloadBytes += Int64(frame.size - Frame.headerSize)
            // The content length is bytes 8..<12 of the frame header (spec §1).
            var content: Int64 = 0
            if let source, (try? header.withUnsafeMutableBytes { try source.read(into: $0, at: frame.offset + 8) }) == 4 {
                content = Int64(header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) })
                stats.contentBytes += content
            }
            stats.share(frame, contentBytes: content)
            for record in frame.records { stats.add(record) }
        })
        stats.problems = problems
        var report = StatsReport(stats: stats, path: input.path, status: input.run.flatMap { try? $0.status().0 })
        if let run = input.run {
            let parent = (run.path as NSString).deletingLastPathComponent
            let directory = syncState ?? SyncStateDirectory(root: parent.isEmpty ? "." : parent).path
            report.mlflowURL = SyncState.load(directory: directory, runID: run.identity)?.mlflowURL
        }
        if wrote && !json { output.write("\n") }
        wrote = true
        output.write(json ? report.json() : report.text(style: Style(terminal: output.isTerminal)))
        output.flush()
        if scan.sawDamage { throw CLIError.damageReported }
    }
}
