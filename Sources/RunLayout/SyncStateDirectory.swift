// SPDX-License-Identifier: Apache-2.0
import Foundation

/// syncd's state directory as a reader sees it (spec/sync-state.md): one
/// file `<run-id>.json` per run. syncd writes it; `runlog ls` and
/// `syncd status` read it through this type.
public struct SyncStateDirectory: Sendable, Hashable {
    public let path: String

    public init(path: String) { self.path = path }

    /// The name of the default state directory under a root.
    public static let defaultName = ".syncd"

    /// The state directory syncd uses for `root` when none is given: `<root>/.syncd`.
    public init(root: String) { path = root + "/" + Self.defaultName }

    /// The most a state file may hold; a larger one is refused unread.
    public static let maxFileSize = 16 << 20

    /// The state file of a run.
    public func file(of runID: String) -> String { "\(path)/\(runID).json" }

    /// The saved state of a run, nil when there is none. The temporary file
    /// of an interrupted save is read first: when it is complete and of this
    /// run, it is the newer state. A state file that cannot be decoded is an
    /// error naming it (never silently taken for a fresh start). Only a
    /// regular file is read: a FIFO or device is an error, never opened.
    public func load(_ runID: String) throws(LayoutError) -> RunStateFile? {
        let main = file(of: runID)
        if let bytes = try? RegularFile.contents(main + ".tmp", limit: Self.maxFileSize), let s = try? Self.decode(Data(bytes), path: main + ".tmp"),
            s.runID == runID
        {
            return s
        }
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.contents(main, limit: Self.maxFileSize)
        } catch where error.errno == ENOENT {
            return nil
        } catch {
            throw LayoutError(.io, path: main, "\(error.message); move it away to sync the run from the start", errno: error.errno)
        }
        return try Self.decode(Data(bytes), path: main)
    }

    /// Every state in the directory, sorted by run id; files that cannot be read are listed in `errors`.
    public func loadAll() -> (states: [RunStateFile], errors: [LayoutError]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var states: [RunStateFile] = []
        var errors: [LayoutError] = []
        for name in names.sorted() where name.hasSuffix(".json") && !name.hasPrefix(".") {
            do {
                if let s = try load(String(name.dropLast(5))) { states.append(s) }
            } catch {
                errors.append(error)
            }
        }
        return (states, errors)
    }

    /// Decodes a state file's bytes; `path` names the file in the error.
    public static func decode(_ data: Data, path: String) throws(LayoutError) -> RunStateFile {
        do {
            return try RunStateFile.decode(data)
        } catch let e as RunState.VersionError {
            throw LayoutError(.unsupportedStateVersion, path: path, "\(path): state version \(e.version) is not one this syncd reads (up to \(RunState.currentVersion)); move it away to sync the run from the start")
        } catch {
            throw LayoutError(.invalidState, path: path, "\(path): unreadable state (\(Self.reason(error))); move it away to sync the run from the start")
        }
    }

    /// One line from a decoding error.
    static func reason(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .dataCorrupted(let c)?: return c.debugDescription
        case .keyNotFound(let key, _)?: return "no member \(key.stringValue)"
        case .typeMismatch(_, let c)?, .valueNotFound(_, let c)?:
            return "member \(c.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type"
        default: return "\(error)"
        }
    }
}
