// SPDX-License-Identifier: Apache-2.0
/// An error from opening, writing or finishing a run.
///
/// `description` is one line naming what failed and, where it applies, the path.
public struct RunError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case invalidArgument, runExists, runNotFound, attemptTaken, io, finished
        }
        let base: Base
        /// An argument breaks a rule (a run id, a checkpoint name, a record too large).
        public static let invalidArgument = Code(base: .invalidArgument)
        /// The run id exists and `resume` is `.never`.
        public static let runExists = Code(base: .runExists)
        /// The run id does not exist and `resume` is `.must`.
        public static let runNotFound = Code(base: .runNotFound)
        /// Another process already writes this attempt and rank.
        public static let attemptTaken = Code(base: .attemptTaken)
        /// The operating system refused a read, write or sync.
        public static let io = Code(base: .io)
        /// The run is finished; nothing more can be written.
        public static let finished = Code(base: .finished)

        public var description: String { "\(base)" }
    }

    public let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The error for entries of `what` (config, summary, checkpoint
    /// metadata) of which one nests deeper than readers accept; nil when none does.
    static func tooDeep(_ entries: [Entry], in what: String) -> RunError? {
        guard let (key, depth) = Value.tooDeep(entries) else { return nil }
        return RunError(.invalidArgument, "\(what) key '\(key)': nested \(depth) levels deep; at most \(Value.maxDepth) are allowed (spec/format.md §4.0)")
    }
}
