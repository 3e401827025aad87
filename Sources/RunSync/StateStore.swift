// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The state directory: one file `<run-id>.json` per run (spec/sync-state.md).
///
/// A save writes `<run-id>.json.tmp`, fsyncs it, renames it over
/// `<run-id>.json` and fsyncs the directory, so that a crash at any instant
/// leaves the old state or the new one. A load reads the temporary file
/// first: if it is complete it is the newer state (the crash came before the
/// rename).
public struct StateStore: Sendable {
    public let directory: String

    public init(directory: String) throws(SyncError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SyncError(.state, "\(directory): cannot create the state directory: \(error.localizedDescription)")
        }
    }

    public func path(of runID: String) -> String { reader.file(of: runID) }

    private var reader: SyncStateDirectory { SyncStateDirectory(path: directory) }

    /// The saved state of a run, nil when there is none; see `SyncStateDirectory.load`.
    public func load(_ runID: String) throws(SyncError) -> RunState? {
        do { return try reader.load(runID) } catch { throw SyncError(error) }
    }

    /// Every state in the directory, by run id; unreadable files are reported in `errors`.
    public func loadAll() -> (states: [RunState], errors: [String]) {
        let (states, errors) = reader.loadAll()
        return (states, errors.map(\.message))
    }

    /// Saves durably; sets `updated`.
    public func save(_ state: inout RunState) throws(SyncError) {
        state.updated = Self.timestamp(Date())
        let bytes = Self.encode(state)
        let target = path(of: state.runID)
        let temp = target + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SyncError(.state, "\(temp): \(String(cString: strerror(errno)))") }
        var written = 0
        let ok = bytes.withUnsafeBytes { buf -> Bool in
            while written < buf.count {
                let n = write(fd, buf.baseAddress! + written, buf.count - written)
                if n < 0 { if errno == EINTR { continue }; return false }
                written += n
            }
            return fsync(fd) == 0
        }
        let err = errno
        close(fd)
        guard ok else { throw SyncError(.state, "\(temp): \(String(cString: strerror(err)))") }
        guard rename(temp, target) == 0 else { throw SyncError(.state, "\(target): \(String(cString: strerror(errno)))") }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// The serialized form: sorted keys, two-space indents, a final newline.
    public static func encode(_ state: RunState) -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = (try? e.encode(state)) ?? Data()
        return Array(data) + [0x0A]
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
