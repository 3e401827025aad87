// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

/// What `syncd status` shows: per run, from the state directory and the logs.
public struct StatusReport: Sendable {
    public struct Row: Sendable {
        public var run: String
        /// synced, pending, quarantined, or new (no state yet).
        public var state: String
        public var recordsPending: Int
        public var bytesPending: Int64
        /// Seconds since the last acknowledged upload, when something is pending.
        public var lag: Double?
        public var mlflowRun: String
        public var lastError: String
    }

    public var rows: [Row] = []
    /// States that could not be read.
    public var errors: [String] = []

    public init(settings: SyncSettings) throws(SyncError) {
        let store = try StateStore(directory: settings.stateDirectory)
        let (states, errors) = store.loadAll()
        self.errors = errors
        var byID: [String: RunState] = [:]
        for s in states { byID[s.runID] = s }
        var seen: Set<String> = []
        for root in settings.roots {
            for dir in (try? RunDirectory.list(root: root)) ?? [] where seen.insert(dir.runID).inserted {
                rows.append(Self.row(dir, byID[dir.runID]))
            }
        }
        for s in states where !seen.contains(s.runID) {
            rows.append(Row(run: s.runID, state: s.status.rawValue, recordsPending: 0, bytesPending: s.pendingBytes, lag: nil,
                            mlflowRun: s.mlflowRunID ?? "", lastError: (s.lastError ?? "") + " (run directory not found)"))
        }
    }

    static func row(_ dir: RunDirectory, _ state: RunState?) -> Row {
        var records = 0
        var bytes: Int64 = 0
        for segment in (try? dir.segments()) ?? [] {
            let cursor = state?.segments[segment.name.fileName] ?? RunState.Cursor(offset: 0)
            let size = RunSyncer.fileSize(segment.path)
            guard size > cursor.offset || cursor.record > 0 else { continue }
            guard let reader = try? LogReader(path: segment.path, from: cursor.offset) else {
                bytes += max(0, size - cursor.offset)
                continue
            }
            var first = true
            while let frame = try? reader.next() {
                records += frame.records.count - (first && frame.offset == cursor.offset ? cursor.record : 0)
                first = false
            }
            bytes += max(0, reader.offset - max(cursor.offset, Int64(reader.headerSize)))
        }
        var lag: Double?
        if records > 0, let updated = state?.updated, let date = ISO8601DateFormatter.withFraction.date(from: updated) {
            lag = Date().timeIntervalSince(date)
        }
        let name = state.map { records > 0 && $0.status == .synced ? "pending" : $0.status.rawValue } ?? "new"
        return Row(run: dir.runID, state: name, recordsPending: records, bytesPending: bytes, lag: lag,
                   mlflowRun: state?.mlflowRunID ?? "", lastError: state?.lastError ?? fileErrors(state))
    }

    /// The files a run's state says were left out, as one line ("" when none).
    static func fileErrors(_ state: RunState?) -> String {
        guard let errors = state?.fileErrors, !errors.isEmpty else { return "" }
        return "left out: " + errors.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: "; ")
    }

    public func table() -> String {
        var out = "RUN\tSTATE\tRECORDS\tBYTES\tLAG\tMLFLOW RUN\tLAST ERROR\n"
        for r in rows {
            let lag = r.lag.map { String(format: "%.1fs", $0) } ?? "-"
            out += "\(r.run)\t\(r.state)\t\(r.recordsPending)\t\(r.bytesPending)\t\(lag)\t\(r.mlflowRun.isEmpty ? "-" : r.mlflowRun)\t\(r.lastError.isEmpty ? "-" : r.lastError)\n"
        }
        return out
    }

    public func jsonLines() -> String {
        var out = ""
        for r in rows {
            var j = JSONText()
            j.raw("{"); j.key("run", first: true); j.string(r.run)
            j.key("state"); j.string(r.state)
            j.key("records_pending"); j.int(Int64(r.recordsPending))
            j.key("bytes_pending"); j.int(r.bytesPending)
            j.key("lag"); if let lag = r.lag { j.double((lag * 10).rounded() / 10) } else { j.raw("null") }
            j.key("mlflow_run_id"); j.string(r.mlflowRun)
            j.key("last_error"); j.string(r.lastError)
            j.raw("}\n")
            out += String(decoding: j.bytes, as: UTF8.self)
        }
        return out
    }
}

extension ISO8601DateFormatter {
    static var withFraction: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
