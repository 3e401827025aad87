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
        var end: RunEnd?
        if let reader = try? LogReader(path: segment.path) {
            while let frame = try? reader.next() {
                for case .runEnd(let e) in frame.records { end = e }
            }
        }
        if let end {
            return RankState(attempt: attempt, rank: rank, status: RunStatus(runEnd: end.status), runEnd: end, reason: "run end record")
        }
        switch check.check(livePath: livePath(attempt: attempt, rank: rank), logPath: segment.path) {
        case .alive(let why): return RankState(attempt: attempt, rank: rank, status: .running, reason: why)
        case .gone(let why): return RankState(attempt: attempt, rank: rank, status: .crashed, reason: why)
        }
    }
}
