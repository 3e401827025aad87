// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

/// Uploads a run's console records as text artifacts that MLflow's viewer
/// shows: per log file and stream, `console/<log name>/<stream>.<part>.log`,
/// each part the lines of about 1 MiB of text as `runlog logs` shows them.
///
/// Exactly once: a part is a fixed stretch of records, from where its
/// cursor (saved in the run's state) says it starts to the first record
/// that brings it to `partBytes`. While it grows, each upload replaces the
/// last with more of the same stretch; a part is never uploaded shorter than
/// it was, and once full its cursor moves to the next part only after MLflow
/// acknowledged it whole. After a crash the part is read again from its
/// start and uploaded again: no line twice, none missing.
///
/// Live: a growing part is uploaded at most every `interval` seconds.
final class ConsoleSync {
    static let partBytes = 1 << 20
    var interval = 1.0

    /// One stream's part being built.
    private struct Part {
        var cursor: RunState.ConsoleCursor
        var renderer = ConsoleRenderer()
        var lines: [UInt8] = []
        var textBytes = 0
        var records = 0
        var uploaded = 0
        var lastUpload = -Double.infinity
        var full = false
    }

    /// How far one log is read, and its streams' parts.
    private struct Scan {
        var offset: Int64
        var record: Int
        var parts: [ConsoleText.Stream: Part]
    }

    private var scans: [String: Scan] = [:]
    /// Seconds until a growing part is due, after `advance` returned nil; nil when none waits.
    private(set) var nextDue: Double?

    /// Sends the next due part of any log, or returns nil when none is due.
    func advance(
        _ logs: [(name: String, path: String)], state: inout RunState, client: MLflowClient, now: Double
    ) throws(SyncError) -> Bool {
        nextDue = nil
        for log in logs {
            var scan = scans[log.name] ?? Self.start(log.name, state)
            if scan.parts.contains(where: { $0.value.cursor != state.consoles[log.name + "/\($0.key)"] ?? .init() }) {
                scan = Self.start(log.name, state)  // the state was read again: so is the log
            }
            try read(log.path, into: &scan)
            defer { scans[log.name] = scan }
            for stream in [ConsoleText.Stream.stdout, .stderr] {
                guard var part = scan.parts[stream], part.records > part.uploaded else { continue }
                let wait = part.lastUpload + interval - now
                if !part.full && wait > 0 {
                    nextDue = min(nextDue ?? wait, wait)
                    continue
                }
                var body = part.lines
                var renderer = part.renderer
                renderer.finish { body += $0 }
                let stem = log.name.hasSuffix(".rlog") ? String(log.name.dropLast(5)) : log.name
                let path = ArtifactPath(["console", stem, "\(stream).\(Self.pad(part.cursor.part)).log"])
                try client.putArtifact(experimentID: state.experimentID ?? "0", runID: state.mlflowRunID!, path: path, bytes: body)
                if part.full {
                    let next = RunState.ConsoleCursor(part: part.cursor.part + 1, offset: scan.offset, record: scan.record)
                    state.consoles[log.name + "/\(stream)"] = next
                    part = Part(cursor: next)
                } else {
                    part.uploaded = part.records
                    part.lastUpload = now
                }
                scan.parts[stream] = part
                return true
            }
            if scan.record == 0, !scan.parts.values.contains(where: { $0.full || $0.records > $0.uploaded }) {
                state.consolesUploaded[log.name] = scan.offset  // saved with the state's next change
            }
        }
        return false
    }

    /// The logs that may hold console records: `segments` and the console logs of `directory`.
    static func sources(_ directory: RunDirectory, segments: [RunDirectory.Segment]) -> [(name: String, path: String)] {
        let consoles = (try? directory.consoleLogs()) ?? []
        return segments.map { ($0.name.fileName, $0.path) } + consoles.map { ($0.name.fileName, $0.path) }
    }

    /// Console records of `logs` not known to be in MLflow: those after
    /// `RunState.consolesUploaded` (from the start of a log without it).
    static func unsent(_ logs: [(name: String, path: String)], state: RunState) -> Int {
        var count = 0
        for log in logs {
            guard let reader = try? LogReader(path: log.path, from: state.consolesUploaded[log.name] ?? 0) else { continue }
            while let frame = try? reader.next() {
                count += frame.records.reduce(0) { n, r in if case .console = r { n + 1 } else { n } }
            }
        }
        return count
    }

    /// Whether text read is not yet in MLflow.
    var hasPending: Bool {
        scans.values.contains { $0.parts.values.contains { $0.records > $0.uploaded } }
    }

    private static func start(_ name: String, _ state: RunState) -> Scan {
        var parts: [ConsoleText.Stream: Part] = [:]
        for stream in [ConsoleText.Stream.stdout, .stderr] {
            parts[stream] = Part(cursor: state.consoles[name + "/\(stream)"] ?? .init())
        }
        let first = parts.values.map(\.cursor).min { ($0.offset, $0.record) < ($1.offset, $1.record) }!
        return Scan(offset: first.offset, record: first.record, parts: parts)
    }

    /// Reads new frames of `path` into the parts, stopping after a record that fills one.
    private func read(_ path: String, into scan: inout Scan) throws(SyncError) {
        guard !scan.parts.values.contains(where: \.full) else { return }
        let reader: LogReader
        do { reader = try LogReader(path: path, from: scan.offset) } catch { return }  // header not written yet
        while true {
            let frame: LogReader.DecodedFrame?
            do { frame = try reader.next() } catch { throw SyncError(.io, "\(path): \(error)") }
            guard let frame else { return }
            if frame.offset != scan.offset { (scan.offset, scan.record) = (frame.offset, 0) }
            while scan.record < frame.records.count {
                let index = scan.record
                scan.record += 1
                guard case .console(let c) = frame.records[index], var part = scan.parts[c.stream],
                    (frame.offset, index) >= (part.cursor.offset, part.cursor.record)
                else { continue }
                part.renderer.add(c) { part.lines += $0 }
                part.textBytes += c.text.utf8.count
                part.records += 1
                part.full = part.textBytes >= Self.partBytes
                scan.parts[c.stream] = part
                if part.full { return }
            }
            (scan.offset, scan.record) = (frame.end, 0)
        }
    }

    static func pad(_ n: Int) -> String {
        let s = String(n)
        return s.count >= 4 ? s : String(repeating: "0", count: 4 - s.count) + s
    }
}
