// SPDX-License-Identifier: Apache-2.0
import RunLog

/// The text and JSON forms of `runlog stats`.
struct StatsReport {
    let stats: RunStats
    let path: String
    let status: RunStatus?
    /// The MLflow run's page, when syncd recorded it.
    var mlflowURL: String? = nil

    static let kindOrder = ["header", "run_start", "config", "metrics", "histogram", "checkpoint", "checkpoint_removed", "tags", "summary", "run_end", "environment", "unknown"]

    func text(style: Style) -> String {
        let s = stats
        var out = ""
        func line(_ label: String, _ text: String) { out += style.bold(Formatting.column(label, 12)) + text + "\n" }
        var run = s.runStart.map { "\($0.runID)" } ?? "-"
        if let start = s.runStart {
            if !start.project.isEmpty { run += "  project " + ListCommand.cell(start.project) }
            if !start.name.isEmpty { run += "  name " + ListCommand.cell(start.name) }
        }
        if let status { run += "  " + status.rawValue } else if let end = s.runEnd { run += "  " + end.status.description }
        line("run", run)
        if let mlflowURL { line("mlflow", mlflowURL) }
        line("files", "\(s.files) file\(s.files == 1 ? "" : "s"), \(s.frames) frames" + (s.problems > 0 ? ", \(s.problems) problems (see above)" : ""))
        var kinds: [String] = []
        for k in Self.kindOrder {
            guard let n = s.kinds[k] else { continue }
            kinds.append(k == "metrics" ? "metrics \(n) rows in \(s.metricBlocks) blocks" : "\(k) \(n)")
        }
        line("records", kinds.joined(separator: ", "))
        if let first = s.firstTime, let last = s.lastTime {
            line("time", "\(Formatting.timestamp(first)) to \(Formatting.timestamp(last)) (\(Formatting.duration(micros: last - first)))")
        }
        var size = "\(Formatting.bytes(s.bytesOnDisk)) on disk"
        if s.points > 0 {
            // Every byte of the logs over the metric points: histograms, checkpoints and the rest included.
            size += " (\(Formatting.fixed(Double(s.bytesOnDisk) / Double(s.points), digits: 2)) bytes per metric point, all records included)"
        }
        if let ratio = s.compressionRatio {
            size += ", \(Formatting.bytes(s.contentBytes)) decoded, compression ratio \(Formatting.fixed(ratio, digits: 2))"
        }
        line("size", size)
        if s.points > 0, s.histogramsOnDisk > 0 {
            let h = s.kinds["histogram"] ?? 1
            line("", "of which metrics ≈ \(Formatting.bytes(Int64(s.metricsOnDisk))) (\(Formatting.fixed(s.metricsOnDisk / Double(s.points), digits: 2)) bytes per point), "
                + "histograms ≈ \(Formatting.bytes(Int64(s.histogramsOnDisk))) (\(Int(s.histogramsOnDisk / Double(h))) bytes each)")
        }
        let (trainingSeries, systemSeries) = Self.split(s.series)
        if !trainingSeries.isEmpty {
            out += "\n" + style.bold("metrics") + "\n"
            out += seriesTable(trainingSeries)
        }
        if !systemSeries.isEmpty {
            out += "\n" + style.bold("system metrics") + " (keys under system/)\n"
            out += seriesTable(systemSeries, dropping: "system/")
        }
        if !s.histograms.isEmpty {
            out += "\n" + style.bold("histograms") + "\n"
            let rows = s.histograms.map { h in [h.key, String(h.count), String(h.firstStep), String(h.lastStep), String(h.bins)] }
            out += table(["KEY", "COUNT", "FIRST STEP", "LAST STEP", "BINS"], rows, right: [1, 2, 3, 4])
        }
        if !s.checkpoints.isEmpty {
            out += "\n" + style.bold("checkpoints") + "\n"
            if s.anyCheckpointRemoved {  // a column only for runs that remove checkpoints
                let rows = s.checkpoints.map { c in
                    [c.name, String(c.count), String(c.removed), String(c.firstStep), String(c.latest.step), Formatting.bytes(Int64(c.bytes)), c.latest.path]
                }
                out += table(["NAME", "COUNT", "REMOVED", "FIRST STEP", "LAST STEP", "BYTES", "LATEST"], rows, right: [1, 2, 3, 4, 5])
            } else {
                let rows = s.checkpoints.map { c in
                    [c.name, String(c.count), String(c.firstStep), String(c.latest.step), Formatting.bytes(Int64(c.bytes)), c.latest.path]
                }
                out += table(["NAME", "COUNT", "FIRST STEP", "LAST STEP", "BYTES", "LATEST"], rows, right: [1, 2, 3, 4])
            }
        }
        if let environment = s.environment {
            out += "\n" + style.bold("environment") + "\n" + Self.environmentText(environment)
        }
        return out
    }

    /// The table of metric series: key, count, steps, min, max, last, sparkline.
    func seriesTable(_ series: [SeriesStats], dropping prefix: String = "") -> String {
        let rows = series.map { m in
            [String(m.key.dropFirst(prefix.count)), String(m.count), String(m.firstStep), String(m.lastStep), Formatting.double(m.min),
             Formatting.double(m.max), Formatting.double(m.last), m.sparkline]
        }
        return table(["KEY", "COUNT", "FIRST STEP", "LAST STEP", "MIN", "MAX", "LAST", "CURVE"], rows, right: [1, 2, 3, 4, 5, 6])
    }

    /// Rows indented by two spaces, columns separated by two.
    func table(_ header: [String], _ rows: [[String]], right: Set<Int>) -> String {
        let cleaned = rows.map { $0.enumerated().map { j, c in j == 0 ? ListCommand.cell(c) : c } }
        var widths = header.map(\.count)
        for row in cleaned { for (j, c) in row.enumerated() { widths[j] = max(widths[j], c.count) } }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { j, c in
                j == cells.count - 1 && !right.contains(j) ? c : Formatting.column(c, widths[j], right: right.contains(j))
            }
            return "  " + padded.joined(separator: "  ") + "\n"
        }
        return line(header) + cleaned.map(line).joined()
    }

    func json() -> String {
        let s = stats
        var j = CanonicalJSON(capacity: 4096)
        j.raw(#"{"path":"#); j.string(path)
        j.raw(#","run_id":"#); optionalString(&j, s.runStart?.runID)
        j.raw(#","project":"#); optionalString(&j, s.runStart?.project)
        j.raw(#","name":"#); optionalString(&j, s.runStart?.name)
        j.raw(#","status":"#); optionalString(&j, status?.rawValue ?? s.runEnd?.status.description)
        j.raw(#","mlflow_url":"#); optionalString(&j, mlflowURL)
        j.raw(#","files":"#); j.int(s.files)
        j.raw(#","frames":"#); j.int(s.frames)
        j.raw(#","problems":"#); j.int(s.problems)
        j.raw(#","records":{"#)
        var first = true
        for k in Self.kindOrder {
            guard let n = s.kinds[k] else { continue }
            if !first { j.raw(",") }
            first = false
            j.string(k); j.raw(":"); j.int(n)
        }
        j.raw(#"},"metrics_blocks":"#); j.int(s.metricBlocks)
        j.raw(#","points":"#); j.int(s.points)
        let (trainingSeries, systemSeries) = Self.split(s.series)
        for (name, series) in [("metrics", trainingSeries), ("system", systemSeries)] {
            j.raw(","); j.string(name); j.raw(":")
            keyed(&j, series, { ($0.key, $0.count, $0.firstStep, $0.lastStep) }) { j, m in
                j.raw(#","min":"#); j.double(m.min)
                j.raw(#","max":"#); j.double(m.max)
                j.raw(#","last":"#); j.double(m.last)
                j.raw(#","nonfinite":"#); j.int(m.nonfinite)
                j.raw(#","sparkline":"#); j.string(m.sparkline)
            }
        }
        j.raw(#","histograms":"#)
        keyed(&j, s.histograms, { ($0.key, $0.count, $0.firstStep, $0.lastStep) }) { j, h in
            j.raw(#","bins":"#); j.int(h.bins)
        }
        j.raw(#","checkpoints":"#)
        keyed(&j, s.checkpoints, { ($0.name, $0.count, $0.firstStep, $0.latest.step) }) { j, c in
            j.raw(#","removed":"#); j.int(c.removed)
            j.raw(#","bytes":"#); j.int(c.bytes)
            j.raw(#","latest_path":"#); j.string(c.latest.path)
        }
        j.raw(#","environment":"#)
        if let e = s.environment { j.map(e) } else { j.raw("null") }
        j.raw(#","first_time":"#)
        if let t = s.firstTime { j.time(t) } else { j.raw("null") }
        j.raw(#","last_time":"#)
        if let t = s.lastTime { j.time(t) } else { j.raw("null") }
        j.raw(#","bytes_on_disk":"#); j.int(s.bytesOnDisk)
        j.raw(#","bytes_stored":"#); j.int(s.payloadBytes)
        j.raw(#","bytes_decoded":"#); j.int(s.contentBytes)
        j.raw(#","metrics_bytes_on_disk":"#); j.int(Int64(s.metricsOnDisk.rounded()))
        j.raw(#","histograms_bytes_on_disk":"#); j.int(Int64(s.histogramsOnDisk.rounded()))
        j.raw(#","compression_ratio":"#)
        if let r = s.compressionRatio { j.double(r) } else { j.raw("null") }
        j.raw("}\n")
        return String(decoding: j.output, as: UTF8.self)
    }

    /// `{"<name>":{"count":…,"first_step":…,"last_step":…, then what `rest` writes},…}`.
    private func keyed<T, C: BinaryInteger, S: BinaryInteger>(
        _ j: inout CanonicalJSON, _ items: [T], _ common: (T) -> (String, C, S, S), rest: (inout CanonicalJSON, T) -> Void
    ) {
        j.raw("{")
        for (i, item) in items.enumerated() {
            let (name, count, first, last) = common(item)
            if i > 0 { j.raw(",") }
            j.string(name)
            j.raw(#":{"count":"#); j.int(count)
            j.raw(#","first_step":"#); j.int(first)
            j.raw(#","last_step":"#); j.int(last)
            rest(&j, item)
            j.raw("}")
        }
        j.raw("}")
    }

    private func optionalString(_ j: inout CanonicalJSON, _ s: String?) {
        if let s { j.string(s) } else { j.raw("null") }
    }
}
