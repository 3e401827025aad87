// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

/// What `syncd status` shows: per run, from the state directory and the logs.
public struct StatusReport: Sendable {
    public struct Row: Sendable {
        /// The run id, as `runlog ls` shows it.
        public var id: String
        /// `new` (syncd has not started on it: no state yet), `pending`, `synced` or `quarantined`.
        public var state: String
        public var pending = PendingScan()
        /// Seconds since the oldest unsent point was logged; nil when no point waits.
        public var oldestUnsent: Double?
        public var experimentID: String?
        public var mlflowRunID: String?
        /// The MLflow run's page, when syncd recorded its server.
        public var mlflowURL: String?
        public var lastError: String
    }

    public var rows: [Row] = []
    /// States that could not be read.
    public var errors: [String] = []

    public init(settings: SyncSettings, now: Date = Date()) throws(SyncError) {
        let store = try StateStore(directory: settings.stateDirectory)
        let (states, errors) = store.loadAll()
        self.errors = errors
        var byID: [String: RunStateFile] = [:]
        for s in states { byID[s.runID] = s }
        var seen: Set<String> = []
        for root in settings.roots {
            for dir in (try? RunDirectory.list(root: root)) ?? [] {
                let id = dir.identity
                if seen.insert(id).inserted { rows.append(Self.row(dir, id: id, byID[id], now: now)) }
            }
        }
        for s in states where !seen.contains(s.runID) {
            var row = Self.row(id: s.runID, state: s.destinations[RunState.firstDestination], name: s.status.rawValue)
            row.lastError = s.lastError ?? ""
            row.pending.bytes = s.pendingBytes
            row.lastError += " (run directory not found)"
            rows.append(row)
        }
    }

    /// A run's row: its MLflow columns from the MLflow destination, what is
    /// pending from the destination furthest behind, its state combined
    /// over its destinations (quarantined, else pending, else synced).
    static func row(_ dir: RunDirectory, id: String, _ file: RunStateFile?, now: Date) -> Row {
        let scans = (file?.destinations.values).map { $0.map { PendingScan(dir, state: $0) } } ?? []
        let pending = scans.max { ($0.points, $0.records, $0.bytes) < ($1.points, $1.records, $1.bytes) } ?? PendingScan(dir, state: nil)
        let name = file.map { pending.records > 0 && $0.status == .synced ? "pending" : $0.status.rawValue } ?? "new"
        var row = row(id: id, state: file?.destinations[RunState.firstDestination], name: name)
        if let file, file.destinations.count > 1 || file.destinations[RunState.firstDestination] == nil {
            row.lastError = file.lastError ?? row.lastError
        }
        row.pending = pending
        row.oldestUnsent = pending.oldestPointTime.map { max(0, now.timeIntervalSince1970 - Double($0) / 1e6) }
        return row
    }

    private static func row(id: String, state: RunState?, name: String) -> Row {
        Row(id: id, state: name, experimentID: state?.experimentID, mlflowRunID: state?.mlflowRunID,
            mlflowURL: state?.mlflowRunURL, lastError: state?.lastError ?? fileErrors(state))
    }

    /// The files a run's state says were left out, as one line ("" when none).
    static func fileErrors(_ state: RunState?) -> String {
        guard let errors = state?.fileErrors, !errors.isEmpty else { return "" }
        return "left out: " + errors.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value))" }.joined(separator: "; ")
    }

    static let header = ["ID", "STATE", "POINTS PENDING", "BYTES PENDING", "OLDEST UNSENT", "MLFLOW RUN", "LAST ERROR"]

    /// A table: columns aligned with spaces for a terminal, else separated by tabs.
    public func table(aligned: Bool) -> String {
        let cells = rows.map { r -> [String] in
            let mlflow = r.mlflowURL ?? r.mlflowRunID.map { "run \($0) in experiment \(r.experimentID ?? "?")" } ?? "-"
            return [r.id, r.state, String(r.pending.points), String(r.pending.bytes), r.oldestUnsent.map(Self.age) ?? "-",
                    mlflow, r.lastError.isEmpty ? "-" : r.lastError]
        }
        guard aligned else {
            return ([Self.header] + cells).map { $0.joined(separator: "\t") + "\n" }.joined()
        }
        var widths = Self.header.map(\.count)
        for row in cells { for (j, c) in row.enumerated() { widths[j] = max(widths[j], c.count) } }
        let right: Set<Int> = [2, 3, 4]
        return ([Self.header] + cells).map { row in
            row.enumerated().map { j, c in
                let pad = String(repeating: " ", count: widths[j] - c.count)
                return right.contains(j) ? pad + c : (j == row.count - 1 ? c : c + pad)
            }.joined(separator: "  ") + "\n"
        }.joined()
    }

    /// An age for a table: `42s`, `5m 03s`, `2h 05m`, `3d 4h`.
    static func age(_ seconds: Double) -> String {
        let s = Int(seconds)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        switch s {
        case ..<60: return "\(s)s"
        case ..<3600: return "\(s / 60)m \(two(s % 60))s"
        case ..<86400: return "\(s / 3600)h \(two(s % 3600 / 60))m"
        default: return "\(s / 86400)d \(s % 86400 / 3600)h"
        }
    }

    public func jsonLines() -> String {
        var out = ""
        for r in rows {
            var j = JSONText()
            j.raw("{"); j.key("id", first: true); j.string(r.id)
            j.key("state"); j.string(r.state)
            j.key("points_pending"); j.int(Int64(r.pending.points))
            j.key("records_pending"); j.int(Int64(r.pending.records))
            j.key("bytes_pending"); j.int(r.pending.bytes)
            j.key("oldest_unsent_seconds")
            if let age = r.oldestUnsent { j.double((age * 10).rounded() / 10) } else { j.raw("null") }
            j.key("experiment_id"); optional(&j, r.experimentID)
            j.key("mlflow_run_id"); optional(&j, r.mlflowRunID)
            j.key("mlflow_url"); optional(&j, r.mlflowURL)
            j.key("last_error"); optional(&j, r.lastError.isEmpty ? nil : r.lastError)
            j.raw("}\n")
            out += String(decoding: j.bytes, as: UTF8.self)
        }
        return out
    }

    private func optional(_ j: inout JSONText, _ s: String?) {
        if let s { j.string(s) } else { j.raw("null") }
    }
}
