// SPDX-License-Identifier: Apache-2.0
extension RunDirectory {
    /// What the disk says of one attempt and rank.
    public struct RankState: Sendable {
        public var attempt: UInt64
        public var rank: UInt64
        public var status: RunStatus
        /// The run end record, when there is one.
        public var runEnd: RunEnd?
        /// Why the status is what it is, e.g. "process 4242 is gone".
        public var reason: String
    }

    /// The status of the run (spec/run-directory.md §4) and of each rank of its latest attempt.
    /// Reads the last segment of each rank of the latest attempt.
    public func status(check: LivenessCheck = LivenessCheck()) throws -> (RunStatus, [RankState]) {
        let segments = try segments()
        guard let latest = segments.map(\.name.attempt).max() else { return (.crashed, []) }
        var lastOfRank: [UInt64: Segment] = [:]
        for s in segments where s.name.attempt == latest {
            if let known = lastOfRank[s.name.rank], known.name.segment > s.name.segment { continue }
            lastOfRank[s.name.rank] = s
        }
        var states: [RankState] = []
        for (rank, segment) in lastOfRank.sorted(by: { $0.key < $1.key }) {
            states.append(rankState(segment: segment, attempt: latest, rank: rank, check: check))
        }
        return (RunStatus.combine(states.map(\.status)), states)
    }

    func rankState(segment: Segment, attempt: UInt64, rank: UInt64, check: LivenessCheck) -> RankState {
        let end = Self.runEnd(in: segment.path)
        if let end {
            return RankState(attempt: attempt, rank: rank, status: RunStatus(runEnd: end.status), runEnd: end, reason: "run end record")
        }
        switch check.check(livePath: livePath(attempt: attempt, rank: rank), logPath: segment.path) {
        case .alive(let why): return RankState(attempt: attempt, rank: rank, status: .running, reason: why)
        case .gone(let why): return RankState(attempt: attempt, rank: rank, status: .crashed, reason: why)
        }
    }

    /// The run end record of a log, if it has one. A run end is the last
    /// record a writer writes, so this reads only the last MiB of a large log
    /// (resynchronising on its first whole frame) and the whole log only when
    /// that window holds no frame.
    static func runEnd(in path: String) -> RunEnd? {
        guard let source = try? FileSource(path: path), let size = try? source.size(),
              let reader = try? LogReader(source: source, name: path) else { return nil }
        func lastRunEnd() -> (end: RunEnd?, frames: Int) {
            var end: RunEnd?
            var frames = 0
            while let frame = try? reader.next() {
                frames += 1
                for case .runEnd(let e) in frame.records { end = e }
            }
            return (end, frames)
        }
        let window: Int64 = 1 << 20
        if size > 2 * window {
            reader.seek(to: size - window)
            let found = lastRunEnd()
            if found.frames > 0 { return found.end }
            reader.seek(to: 0)
        }
        return lastRunEnd().end
    }
}
