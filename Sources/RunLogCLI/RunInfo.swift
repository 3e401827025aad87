// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RunLayout
import RunLog

/// What `runlog ls` shows of one run, read from its directory alone.
struct RunInfo {
    var run: RunDirectory
    var project = ""
    var name = ""
    var status: RunStatus?
    var statusReason = ""
    var attempts: UInt64 = 0
    /// The highest step of the metrics rows of the latest attempt, if any.
    var lastStep: Int64?
    /// The mean of the latest attempt's GPU utilization samples
    /// (`system/gpu_<i>_utilization_percentage`, every GPU), if it has any.
    var gpuUtilization: Double?
    /// Newest modification time in `logs/`, in seconds since the epoch.
    var lastUpdate: Int64 = 0
    /// Bytes of every file in the run directory (logs and checkpoints).
    var size: Int64 = 0
    var sync: SyncState?

    /// Reads what the run's files say. Never throws: what cannot be read stays empty.
    static func load(_ run: RunDirectory, syncStateDirectory: String) -> RunInfo {
        var info = RunInfo(run: run)
        let segments = (try? run.segments()) ?? []
        if let first = segments.first, let reader = try? LogReader(path: first.path), let frame = try? reader.next() {
            for case .runStart(let s) in frame.records {
                info.project = s.project
                info.name = s.name
            }
        }
        if let (status, ranks) = try? run.status() {
            info.status = status
            info.statusReason = ranks.map { "rank \($0.rank): \($0.reason)" }.joined(separator: "; ")
        }
        info.attempts = segments.map(\.name.attempt).max() ?? 0
        // The highest step of any metrics row of the latest attempt, every rank and segment read.
        var gpu = (sum: 0.0, count: 0)
        for segment in segments where segment.name.attempt == info.attempts {
            let scan = scan(segment.path)
            if let step = scan.highestStep { info.lastStep = max(info.lastStep ?? .min, step) }
            gpu.sum += scan.gpuSum
            gpu.count += scan.gpuCount
        }
        if gpu.count > 0 { info.gpuUtilization = gpu.sum / Double(gpu.count) }
        info.lastUpdate = newestModification(in: run.logsPath)
        info.size = diskUsage(run.path)
        info.sync = SyncState.load(directory: syncStateDirectory, runID: run.identity)  // named by the run id of its logs
        return info
    }

    /// The highest step of the metrics rows in a log (steps may repeat or go
    /// back within a run, so every frame is read), nil when it has none; and
    /// the sum and number of its GPU utilization values.
    static func scan(_ path: String) -> (highestStep: Int64?, gpuSum: Double, gpuCount: Int) {
        guard let reader = try? LogReader(path: path) else { return (nil, 0, 0) }
        var highest: Int64?
        var sum = 0.0, count = 0
        while let frame = try? reader.next() {
            for case .metrics(let block) in frame.records {
                if let m = block.steps.max() { highest = max(highest ?? m, m) }
                for (j, key) in block.keys.enumerated() where key.hasPrefix("system/gpu_") && key.hasSuffix("_utilization_percentage") {
                    for v in block.columns[j].values where v.isFinite {
                        sum += v
                        count += 1
                    }
                }
            }
        }
        return (highest, sum, count)
    }

    /// The newest modification time of the files in `directory`, in seconds.
    static func newestModification(in directory: String) -> Int64 {
        var newest: Int64 = 0
        forEachEntry(directory) { _, st in newest = max(newest, Int64(st.st_mtim.tv_sec)) }
        return newest
    }

    /// Total bytes of the regular files under `path` (symbolic links not followed).
    static func diskUsage(_ path: String) -> Int64 { DiskUsage.of(path).bytes }

    private static func forEachEntry(_ directory: String, _ body: (String, stat) -> Void) {
        guard let dir = opendir(directory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let child = directory + "/" + name
            var st = stat()
            if lstat(child, &st) == 0 { body(child, st) }
        }
    }
}

/// syncd's state for one run, from `<root>/.syncd/<run-id>.json` when it
/// exists and can be read (spec/sync-state.md).
struct SyncState {
    var status: String?
    var pendingBytes: Int64?
    var lastError: String?
    /// The MLflow run's page, once syncd recorded its server.
    var mlflowURL: String?

    static func load(directory: String, runID: String) -> SyncState? {
        guard let state = try? SyncStateDirectory(path: directory).load(runID), !state.destinations.isEmpty else { return nil }
        var s = SyncState()
        s.status = state.status.rawValue
        s.pendingBytes = state.pendingBytes
        s.lastError = state.lastError
        s.mlflowURL = state.destinations[RunState.firstDestination]?.mlflowRunURL
        if s.lastError?.isEmpty == true { s.lastError = nil }
        return s
    }

    /// A short form for a table cell: `synced`, `pending 12.0 KiB`, `quarantined`.
    var cell: String {
        var parts: [String] = [status ?? "?"]
        if let pendingBytes, pendingBytes > 0 { parts.append(Formatting.bytes(pendingBytes)) }
        if lastError != nil, status != "quarantined" { parts.append("(error)") }
        return parts.joined(separator: " ")
    }
}
