// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

/// What `syncd clean` removes: run directories whose every byte is in
/// MLflow and which ended a while ago, to keep a node's run root small.
///
/// A run qualifies only if all of these hold, checked against the disk and
/// the saved state, not against what a running syncd may hold in memory:
/// - its latest attempt ended with run end records (finished, failed or
///   killed): a running run, or a crashed one that a requeued job may
///   continue, stays;
/// - its state says synced, MLflow was given that attempt's end status, and
///   reading its logs from the saved cursors finds nothing left to send (so
///   its checkpoints were uploaded too), no console record after what the
///   state records as in MLflow, and no run file whose size or modification
///   time is not that of the version uploaded;
/// - nothing in its directory changed for `olderThan` seconds.
/// The directory is removed first, then its state file: a crash in between
/// leaves a state without a directory, which `syncd status` shows.
public struct Cleaner: Sendable {
    public struct Candidate: Sendable, Equatable {
        public var run: String
        public var path: String
        public var status: RunStatus
        public var mlflowRunID: String
        /// Bytes of all the files in the run directory.
        public var bytes: Int64
    }

    /// A run left alone, and why.
    public struct Kept: Sendable, Equatable {
        public var run: String
        public var reason: String
    }

    public private(set) var candidates: [Candidate] = []
    public private(set) var kept: [Kept] = []
    private let store: StateStore

    /// Looks at every run under the roots of `settings`.
    public init(settings: SyncSettings, olderThan: Double, now: Date = Date()) throws(SyncError) {
        store = try StateStore(directory: settings.stateDirectory)
        for root in settings.roots {
            for dir in (try? RunDirectory.list(root: root)) ?? [] {
                switch Self.judge(dir, store: store, olderThan: olderThan, now: now) {
                case .remove(let c): candidates.append(c)
                case .keep(let why): kept.append(Kept(run: dir.runID, reason: why))
                }
            }
        }
    }

    private enum Verdict {
        case remove(Candidate)
        case keep(String)
    }

    private static func judge(_ dir: RunDirectory, store: StateStore, olderThan: Double, now: Date) -> Verdict {
        let id = dir.identity  // the state is named by the run id of the logs
        let status: RunStatus
        let latest: UInt64
        do {
            let (combined, ranks) = try dir.status()
            status = combined
            latest = ranks.map(\.attempt).max() ?? 0  // the ranks of the latest attempt
        } catch {
            return .keep("cannot read its logs: \(error)")
        }
        guard [.finished, .failed, .killed].contains(status) else { return .keep("it is \(status.rawValue)") }
        let file: RunStateFile
        do {
            guard let f = try store.loadFile(id), !f.destinations.isEmpty else { return .keep("never synced") }
            file = f
        } catch {
            return .keep(error.message)
        }
        for (name, state) in file.destinations.sorted(by: { $0.key < $1.key }) {
            let at = file.destinations.count > 1 ? " at \(name)" : ""
            guard state.status == .synced else { return .keep("its state\(at) is \(state.status.rawValue)") }
            guard state.sentAttempt == latest, state.sentStatus != nil, state.sentStatus != "RUNNING" else {
                return .keep(name == RunState.firstDestination ? "MLflow does not have its end status yet" : "\(name) does not have its end status yet")
            }
            let pending = PendingScan(dir, state: state)
            guard pending.records == 0, pending.bytes == 0 else {
                return .keep("\(pending.records) records not in \(name == RunState.firstDestination ? "MLflow" : name) yet")
            }
            guard name == RunState.firstDestination else {
                // TensorBoard reads console logs with cursors as it reads segments; run files go to MLflow only.
                let unread = ((try? dir.consoleLogs()) ?? []).filter { RunSyncer.unreadBytes($0.name.fileName, at: $0.path, state: state) > 0 }
                guard unread.isEmpty else { return .keep("console log \(unread[0].name) not in \(name) yet") }
                continue
            }
            let console = ConsoleSync.unsent(ConsoleSync.sources(dir, segments: (try? dir.segments()) ?? []), state: state)
            guard console == 0 else { return .keep("\(console) console record\(console == 1 ? "" : "s") not in MLflow yet") }
            let files = RunFiles.unsent(dir, state: state)
            guard files.isEmpty else {
                return .keep("\(files.count) run file\(files.count == 1 ? "" : "s") not in MLflow yet (\(files[0])\(files.count > 1 ? ", …" : ""))")
            }
            guard HistogramPictures.final(dir, state: state) else { return .keep("its histogram pictures in MLflow are not final yet") }
        }
        let mlflowRunID = file.destinations[RunState.firstDestination]?.mlflowRunID ?? "-"
        let (bytes, newest) = Self.usage(dir.path)
        let age = now.timeIntervalSince1970 - newest
        guard age >= olderThan else { return .keep("changed \(Int(age)) s ago") }
        return .remove(Candidate(run: id, path: dir.path, status: status, mlflowRunID: mlflowRunID, bytes: bytes))
    }

    /// Total bytes of the files under `path` and the newest modification time (seconds since the epoch).
    static func usage(_ path: String) -> (bytes: Int64, newest: Double) { DiskUsage.of(path) }

    /// Removes one candidate: its directory, then its state file.
    public func remove(_ c: Candidate) throws(SyncError) {
        do {
            try FileManager.default.removeItem(atPath: c.path)
        } catch {
            throw SyncError(.io, "\(c.path): cannot remove: \(error.localizedDescription)")
        }
        let state = store.path(of: c.run)
        for file in [state + ".tmp", state] where FileManager.default.fileExists(atPath: file) {
            do { try FileManager.default.removeItem(atPath: file) } catch {
                throw SyncError(.io, "\(file): cannot remove: \(error.localizedDescription)")
            }
        }
    }
}
