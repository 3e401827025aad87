// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import Foundation
import RunLog

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the runs under a root directory.",
        discussion: """
            One row per run: id, project, name, status (running, finished, failed, killed \
            or crashed, decided from the disk alone: see spec/run-directory.md §4), attempts, \
            the highest step of the latest attempt's metrics (LAST STEP: how far the run got, \
            even when it logged a lower step last), the last update (UTC), the bytes of its \
            directory, and syncd's state for it when <root>/.syncd/<run-id>.json exists \
            (otherwise "-"). When syncd recorded the MLflow server of some run, a last \
            column MLFLOW gives each such run's page in MLflow.

            ROOT is an argument, else $RUNLOG_DIR, else ./runlogs. A run directory given as \
            ROOT lists that run alone.

            Examples:
              runlog ls
              runlog ls /scratch/me/runlogs --json | jq -r 'select(.status=="crashed") | .id'

            \(RunLogCommand.exitStatuses)
            """)

    @Argument(help: "The root directory holding run directories.")
    var root: String?

    @Flag(help: "Write one JSON object per run (JSON Lines) instead of a table.")
    var json = false

    @Option(help: ArgumentHelp("Where syncd keeps its state (default: ROOT/.syncd).", valueName: "dir"))
    var syncState: String?

    func run() throws {
        let root = RunDirectory.root(self.root)
        guard LogInput.isDirectory(root) else {
            throw CLIError.cannotRead("\(root): not a directory" + (LogInput.fileSize(root) == nil ? " (it does not exist)" : ""))
        }
        var runs: [RunDirectory]
        var stateDirectory = syncState ?? SyncStateDirectory(root: root).path
        let itself = RunDirectory(path: root)
        if itself.isRun {
            runs = [itself]
            if syncState == nil { stateDirectory = SyncStateDirectory(root: parent(of: root)).path }
        } else {
            do {
                runs = try RunDirectory.list(root: root)
            } catch {
                throw CLIError.cannotRead("\(root): cannot list: \(error.localizedDescription)")
            }
        }
        let infos = runs.map { RunInfo.load($0, syncStateDirectory: stateDirectory) }
        let output = Output()
        if json {
            for info in infos { output.write(jsonLine(info)) }
        } else if infos.isEmpty {
            Diagnostics.warning("\(root): no runs")
        } else {
            output.write(table(infos, style: Style(terminal: output.isTerminal)))
        }
        output.flush()
    }

    private func parent(of path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        return slash == p.startIndex ? "/" : String(p[..<slash])
    }

    func table(_ infos: [RunInfo], style: Style) -> String {
        // The MLflow column only when syncd recorded where some run went.
        let withURL = infos.contains { $0.sync?.mlflowURL != nil }
        // The GPU column (mean utilization) only when some run sampled a GPU.
        let withGPU = infos.contains { $0.gpuUtilization != nil }
        let header = ["ID", "PROJECT", "NAME", "STATUS", "ATTEMPTS", "LAST STEP"] + (withGPU ? ["GPU"] : [])
            + ["UPDATED (UTC)", "SIZE", "SYNC"] + (withURL ? ["MLFLOW"] : [])
        let rightAligned: Set<Int> = withGPU ? [4, 5, 6, 8] : [4, 5, 7]
        let rows: [[String]] = infos.map { i in
            var row: [String] = [
                i.run.runID, Self.cell(i.project), Self.cell(i.name), i.status?.rawValue ?? "?", String(i.attempts),
                i.lastStep.map(String.init) ?? "-",
            ]
            if withGPU { row.append(i.gpuUtilization.map { Formatting.fixed($0, digits: 0) + "%" } ?? "-") }
            row += [i.lastUpdate > 0 ? Formatting.shortTimestamp(seconds: i.lastUpdate) : "-", Formatting.bytes(i.size), i.sync?.cell ?? "-"]
            if withURL { row.append(i.sync?.mlflowURL ?? "-") }
            return row
        }
        var widths = header.map(\.count)
        for row in rows { for (j, c) in row.enumerated() { widths[j] = max(widths[j], c.count) } }
        func line(_ cells: [String], colour: (Int, String) -> String) -> String {
            var parts: [String] = []
            for (j, c) in cells.enumerated() {
                let padded = j == cells.count - 1 && !rightAligned.contains(j) ? c : Formatting.column(c, widths[j], right: rightAligned.contains(j))
                parts.append(colour(j, padded))
            }
            return parts.joined(separator: "  ") + "\n"
        }
        var out = line(header) { _, c in style.bold(c) }
        for (row, info) in zip(rows, infos) {
            out += line(row) { j, c in
                guard j == 3 else { return c }
                switch info.status {
                case .running: return style.cyan(c)
                case .finished: return style.green(c)
                case .failed, .crashed: return style.red(c)
                case .killed, nil: return style.yellow(c)
                }
            }
        }
        return out
    }

    /// A string from a log made safe for a table cell: no control characters, at most 32 characters.
    static func cell(_ s: String) -> String {
        if s.isEmpty { return "-" }
        var clean = String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        if clean.count > 32 { clean = String(clean.prefix(31)) + "…" }
        return clean
    }

    func jsonLine(_ i: RunInfo) -> String {
        var j = CanonicalJSON(capacity: 512)
        j.raw(#"{"id":"#); j.string(i.run.runID)
        j.raw(#","path":"#); j.string(i.run.path)
        j.raw(#","project":"#); j.string(i.project)
        j.raw(#","name":"#); j.string(i.name)
        j.raw(#","status":"#)
        if let s = i.status { j.string(s.rawValue) } else { j.raw("null") }
        j.raw(#","status_reason":"#); j.string(i.statusReason)
        j.raw(#","attempts":"#); j.int(i.attempts)
        j.raw(#","last_step":"#)
        if let step = i.lastStep { j.int(step) } else { j.raw("null") }
        j.raw(#","gpu_utilization":"#)
        if let g = i.gpuUtilization { j.double(g) } else { j.raw("null") }
        j.raw(#","last_update":"#); j.int(i.lastUpdate)
        j.raw(#","size":"#); j.int(i.size)
        j.raw(#","sync":"#)
        if let s = i.sync {
            j.raw(#"{"status":"#)
            if let status = s.status { j.string(status) } else { j.raw("null") }
            j.raw(#","pending_bytes":"#)
            if let p = s.pendingBytes { j.int(p) } else { j.raw("null") }
            j.raw(#","last_error":"#)
            if let e = s.lastError { j.string(e) } else { j.raw("null") }
            j.raw(#","mlflow_url":"#)
            if let u = s.mlflowURL { j.string(u) } else { j.raw("null") }
            j.raw("}")
        } else {
            j.raw("null")
        }
        j.raw("}\n")
        return String(decoding: j.output, as: UTF8.self)
    }
}
