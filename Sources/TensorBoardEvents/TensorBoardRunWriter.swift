// SPDX-License-Identifier: Apache-2.0
import RunLogFormat

/// What a delivery of one run to a TensorBoard log directory has made durable:
/// per rank, its event file and how many bytes of it were acknowledged, and
/// the mapping's context at that point. A sync destination saves it after
/// each `commit()`; reopening from it continues exactly there.
public struct TensorBoardRunState: Codable, Equatable, Sendable {
    public struct RankFile: Codable, Equatable, Sendable {
        /// The TensorBoard run's directory, relative to the log directory.
        public var directory: String
        public var file: String
        /// Bytes of the file acknowledged: whole events, synced.
        public var length: Int64
        public var context: EventMapper.Context

        public init(directory: String, file: String, length: Int64, context: EventMapper.Context) {
            self.directory = directory
            self.file = file
            self.length = length
            self.context = context
        }
    }

    /// Per rank (its number as a string).
    public var ranks: [String: RankFile] = [:]

    public init() {}
}

/// Writes one run's events, in batches, each made durable before it counts:
/// `add` records, then `commit()` appends every rank's new events, syncs them
/// and returns the state to save.
///
/// Exactly once across crashes: opening a rank's file cuts it to its
/// acknowledged length, so whatever a crash left after it (a torn event, or
/// whole events whose state was never saved) is removed, and the batch sent
/// again from the saved cursor writes the same bytes at the same place (the
/// encoding of a batch depends only on the batch and the saved context; see
/// `EventEncoder`). A reader that already read some of those bytes reads the
/// same events again at the same offsets, so it sees each event once. A
/// failed commit cuts every file back to its state before the batch.
public final class TensorBoardRunWriter {
    public let root: String
    public private(set) var state: TensorBoardRunState
    /// Called with the event file and a key logged both as a metric and a histogram.
    public var onClash: ((_ file: String, _ key: String) -> Void)?

    private final class Rank {
        let file: EventFile
        let directory: String
        var mapper: EventMapper
        init(file: EventFile, directory: String, context: EventMapper.Context) {
            self.file = file
            self.directory = directory
            mapper = EventMapper(context: context)
        }
    }

    private var open: [UInt64: Rank] = [:]

    public init(root: String, state: TensorBoardRunState = TensorBoardRunState()) {
        self.root = root
        self.state = state
    }

    /// Encodes items `from..<from+limit` of `record` of rank `rank`; returns
    /// how many it encoded. `start` names the run (the rank's run start, or
    /// what the log's header says) for a rank seen for the first time.
    @discardableResult
    public func add(_ record: Record, rank: UInt64, start: RunStart, from: Int = 0, limit: Int = .max) throws -> Int {
        try self.rank(rank, start: start).mapper.add(record, from: from, limit: limit)
    }

    /// Bytes encoded and not yet committed.
    public var pendingBytes: Int { open.values.reduce(0) { $0 + $1.mapper.encoder.bytes.count } }

    /// Appends and (unless `sync` is false, for a writer that syncs once at
    /// its end) syncs every rank's new events; returns the state to save.
    /// On error, no file keeps any of the batch.
    @discardableResult
    public func commit(sync: Bool = true) throws -> TensorBoardRunState {
        let dirty = open.filter { !$0.value.mapper.encoder.bytes.isEmpty }.sorted { $0.key < $1.key }
        do {
            for (_, r) in dirty {
                try r.file.append(r.mapper.encoder.bytes)
                if sync { try r.file.sync() }
            }
        } catch {
            // Forget the batch: each file back to its acknowledged length, each rank reopened from the state.
            for (key, r) in dirty {
                r.file.cut(to: state.ranks[String(key)]?.length ?? 0)
                open[key] = nil
            }
            throw error
        }
        for (key, r) in dirty {
            state.ranks[String(key)] = .init(directory: r.directory, file: r.file.name, length: r.file.length, context: r.mapper.context)
            r.mapper.encoder.removeBytes()
            r.mapper.encoder.startBatch()
        }
        return state
    }

    private func rank(_ n: UInt64, start: RunStart) throws -> Rank {
        if let r = open[n] { return r }
        let saved = state.ranks[String(n)]
        let directory = saved?.directory
            ?? TensorBoardLayout.runDirectory(root: root, project: start.project, name: start.name, runID: start.runID, rank: n)
        let name = saved?.file ?? TensorBoardLayout.fileName(runID: start.runID, startTime: start.startTime)
        let length = saved?.length ?? 0
        let file = try EventFile(directory: root + "/" + directory, name: name, length: length)
        let r = Rank(file: file, directory: directory, context: saved?.context ?? .init())
        if length == 0 { r.mapper.encoder.fileVersion(wallTime: EventEncoder.seconds(start.startTime)) }
        state.ranks[String(n)] = .init(directory: directory, file: name, length: length, context: r.mapper.context)
        let path = file.path
        r.mapper.onClash = { [weak self] key in self?.onClash?(path, key) }
        open[n] = r
        return r
    }
}
