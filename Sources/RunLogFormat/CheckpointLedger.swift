// SPDX-License-Identifier: Apache-2.0
/// Which checkpoint files a run should still have, from its records read in
/// order (spec §4.11): a `checkpoint` record keeps the file at its path, a
/// later `checkpoint_removed` record of that path retires it, and a later
/// `checkpoint` record of the same path keeps a new file there again.
public struct CheckpointLedger: Sendable {
    /// Every checkpoint record, in the order read, with whether its file was retired since.
    public private(set) var entries: [(checkpoint: Checkpoint, retired: Bool)] = []
    /// The index in `entries` of the latest checkpoint record of each path.
    private var latest: [String: Int] = [:]

    public init() {}

    /// Takes a record into account; records of other kinds are ignored.
    public mutating func add(_ record: Record) {
        switch record {
        case .checkpoint(let c):
            latest[c.path] = entries.count
            entries.append((c, false))
        case .checkpointRemoved(let r):
            if let i = latest[r.path] { entries[i].retired = true }
        default:
            break
        }
    }

    /// The checkpoints whose files should be there.
    public var kept: [Checkpoint] { entries.filter { !$0.retired }.map(\.checkpoint) }

    /// The checkpoints whose files were deleted on purpose.
    public var retired: [Checkpoint] { entries.filter(\.retired).map(\.checkpoint) }

    /// Whether the latest checkpoint record of `path` was retired.
    public func isRetired(path: String) -> Bool {
        latest[path].map { entries[$0].retired } ?? false
    }
}
