// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLogFormat

/// The state directory: one file `<run-id>.json` per run (spec/sync-state.md),
/// holding the run's state at each destination.
///
/// A save writes `<run-id>.json.tmp`, fsyncs it, renames it over
/// `<run-id>.json` and fsyncs the directory, so that a crash at any instant
/// leaves the old state or the new one. A load reads the temporary file
/// first: if it is complete it is the newer state (the crash came before the
/// rename).
public struct StateStore: Sendable {
    public let directory: String
    /// The last file saved or read of each run, which a save of one destination's state updates.
    private let files = Files()

    public init(directory: String) throws(SyncError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SyncError(.state, "\(directory): cannot create the state directory: \(Self.reason(making: directory, error))")
        }
    }

    /// The system's words for why `directory` could not be made ("Not a
    /// directory"): Foundation's error only says "The operation could not be
    /// completed", so the last step is tried again with mkdir(2) for its errno.
    private static func reason(making directory: String, _ error: any Error) -> String {
        guard mkdir(directory, 0o755) != 0 else { return error.localizedDescription }
        return SystemCall.errorText(errno)
    }

    public func path(of runID: String) -> String { reader.file(of: runID) }

    private var reader: SyncStateDirectory { SyncStateDirectory(path: directory) }

    /// The saved state of a run at `destination`, nil when there is none;
    /// see `SyncStateDirectory.load`.
    public func load(_ runID: String, destination: String = RunState.firstDestination) throws(SyncError) -> RunState? {
        try loadFile(runID)?.destinations[destination]
    }

    /// The saved state file of a run, every destination's state in it.
    public func loadFile(_ runID: String) throws(SyncError) -> RunStateFile? {
        do { return try reader.load(runID) } catch { throw SyncError(error) }
    }

    /// Every state file in the directory, by run id; unreadable files are reported in `errors`.
    public func loadAll() -> (states: [RunStateFile], errors: [String]) {
        let (states, errors) = reader.loadAll()
        return (states, errors.map(\.message))
    }

    /// Saves one destination's state of a run durably, with the run's other
    /// destinations' states as last saved; sets `updated`. Saves of one run
    /// are serialized, so that destinations synced by different workers do
    /// not undo each other's saves.
    public func save(_ state: inout RunState) throws(SyncError) {
        let entry = files.entry(state.runID)
        entry.lock.lock()
        defer { entry.lock.unlock() }
        var file: RunStateFile
        if let cached = entry.file {
            file = cached
        } else {
            // Never written over when unreadable (the error names the file).
            do { file = try reader.load(state.runID) ?? RunStateFile(runID: state.runID) } catch { throw SyncError(error) }
        }
        state.updated = Self.timestamp(Date())
        file.version = RunStateFile.currentVersion
        file.updated = state.updated
        file.destinations[state.destination] = state
        try write(file.encoded(), to: path(of: state.runID))
        entry.file = file
    }

    private func write(_ bytes: [UInt8], to target: String) throws(SyncError) {
        let temp = target + ".tmp"
        // Whatever is at the temporary name (the state directory may be in a
        // shared root: a planted link) is removed, never followed or truncated.
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SyncError(.state, "\(temp): \(SystemCall.errorText(errno))") }
        let ok = bytes.withUnsafeBytes { SystemCall.writeAll(fd, $0) } && fsync(fd) == 0
        let err = errno
        close(fd)
        guard ok else { throw SyncError(.state, "\(temp): \(SystemCall.errorText(err))") }
        guard rename(temp, target) == 0 else { throw SyncError(.state, "\(target): \(SystemCall.errorText(errno))") }
        SystemCall.syncDirectory(directory)
    }

    /// The serialized form of a state file holding `state` alone.
    public static func encode(_ state: RunState) -> [UInt8] {
        var file = RunStateFile(runID: state.runID)
        file.updated = state.updated
        file.destinations[state.destination] = state
        return file.encoded()
    }

    /// The last saved file of each run, with a lock serializing its saves.
    private final class Files: @unchecked Sendable {
        final class Entry: @unchecked Sendable {
            let lock = NSLock()
            var file: RunStateFile?
        }
        private let lock = NSLock()
        private var entries: [String: Entry] = [:]

        func entry(_ runID: String) -> Entry {
            lock.withLock {
                if let e = entries[runID] { return e }
                let e = Entry()
                entries[runID] = e
                return e
            }
        }
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
