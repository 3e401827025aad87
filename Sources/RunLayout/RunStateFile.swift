// SPDX-License-Identifier: Apache-2.0
import Foundation

/// One run's state file, `<state dir>/<run-id>.json` (spec/sync-state.md):
/// the state of the run at each destination syncd delivers it to, by
/// destination name. Each destination has its own cursors, so one that
/// is down or refuses the run holds back no other.
///
/// Version 2 holds `destinations`; a version 1 file (one MLflow state at
/// the top level) is read as the state of destination `mlflow`, and is
/// written back as version 2 at the next save.
public struct RunStateFile: Codable, Sendable, Equatable {
    public static let currentVersion = 2
    /// Where the decoder finds the run id of a file being decoded (for its nested states).
    static let runIDKey = CodingUserInfoKey(rawValue: "runlog.runID")!

    public var version: Int = RunStateFile.currentVersion
    public var runID: String
    /// When the file was last saved (ISO 8601, UTC).
    public var updated: String = ""
    public var destinations: [String: RunState] = [:]

    public init(runID: String) { self.runID = runID }

    /// The combined status: quarantined when any destination is, pending
    /// when any is, synced when all are (and there is at least one).
    public var status: RunState.Status {
        let all = destinations.values.map(\.status)
        if all.contains(.quarantined) { return .quarantined }
        if all.contains(.pending) || all.isEmpty { return .pending }
        return .synced
    }

    /// The most bytes any destination has still to receive.
    public var pendingBytes: Int64 { destinations.values.map(\.pendingBytes).max() ?? 0 }

    /// The destinations' last errors, each prefixed with its destination when there are several.
    public var lastError: String? {
        let errors = destinations.sorted { $0.key < $1.key }.compactMap { name, s in
            s.lastError.map { destinations.count > 1 ? "\(name): \($0)" : $0 }
        }
        return errors.isEmpty ? nil : errors.joined(separator: "; ")
    }

    enum CodingKeys: String, CodingKey {
        case version, updated, destinations
        case runID = "run_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(version, forKey: .version)
        try c.encode(runID, forKey: .runID)
        try c.encode(updated, forKey: .updated)
        try c.encode(destinations, forKey: .destinations)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = try c.decode(Int.self, forKey: .version)
        if version == 1 {
            let state = try RunState(from: decoder)
            runID = state.runID
            updated = state.updated
            destinations = [RunState.firstDestination: state]
            return
        }
        guard version == Self.currentVersion else { throw RunState.VersionError(version: version) }
        runID = try c.decode(String.self, forKey: .runID)
        updated = try c.decodeIfPresent(String.self, forKey: .updated) ?? ""
        destinations = try c.decodeIfPresent([String: RunState].self, forKey: .destinations) ?? [:]
    }

    /// Decodes a state file of any version this build reads.
    public static func decode(_ data: Data) throws -> RunStateFile {
        // The run id is needed by the nested states before the file's own members are read.
        struct Head: Decodable {
            var run_id: String
        }
        let decoder = JSONDecoder()
        if let head = try? decoder.decode(Head.self, from: data) { decoder.userInfo[runIDKey] = head.run_id }
        var file = try decoder.decode(RunStateFile.self, from: data)
        for (name, var state) in file.destinations {
            state.runID = file.runID
            state.destination = name
            file.destinations[name] = state
        }
        return file
    }

    /// The serialized form: sorted keys, two-space indents, a final newline.
    public func encoded() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = (try? e.encode(self)) ?? Data()
        return Array(data) + [0x0A]
    }
}
