// SPDX-License-Identifier: Apache-2.0

/// The order in which a delivery tries the logs of a run: its ranks take turns.
///
/// A step sends one request, from the first log in this order that has
/// something to send. Tried from rank 0 every time, a rank with a backlog
/// would hold back the others until its backlog was through (rank 1's live
/// points waiting behind rank 0's). Instead each step starts with the rank
/// after the one that sent last, and goes round: while several ranks have
/// something to send, each sends one request in turn.
///
/// Only the choice of the next log changes. A rank's own logs keep their
/// reading order (attempt, then segment), and each log keeps its own cursor
/// in the sync state, so what a request holds, and what a crash may send
/// again (the one request in flight), are as before.
struct RankTurns {
    /// The rank that sent the last request; nil before the first.
    private(set) var last: UInt64?

    /// `logs`, in reading order (by rank first, as `RunDirectory.segments()`
    /// gives them), rotated to start with the first rank after `last`; those
    /// of `last` and the ranks before it follow.
    func order<Log>(_ logs: [Log], rank: (Log) -> UInt64) -> [Log] {
        guard let last, let i = logs.firstIndex(where: { rank($0) > last }), i > 0 else { return logs }
        return Array(logs[i...] + logs[..<i])
    }

    /// A log of `rank` sent a request: the next step starts after it.
    mutating func sent(rank: UInt64) {
        last = rank
    }
}
