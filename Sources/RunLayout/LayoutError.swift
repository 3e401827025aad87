// SPDX-License-Identifier: Apache-2.0
/// An error from reading what is on disk: a run directory, or one of
/// syncd's state files.
///
/// `description` is one line naming the file.
public struct LayoutError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case io, invalidState, unsupportedStateVersion
        }
        let base: Base
        /// The operating system refused a read (see `errno`).
        public static let io = Code(base: .io)
        /// A state file is not valid JSON of the state format, or is of another run.
        public static let invalidState = Code(base: .invalidState)
        /// A state file names a version this reader does not know.
        public static let unsupportedStateVersion = Code(base: .unsupportedStateVersion)

        public var description: String { "\(base)" }
    }

    public let code: Code
    /// The file the error is about.
    public let path: String
    public let message: String
    /// For `.io`: the errno value.
    public let errno: Int32?

    public init(_ code: Code, path: String, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}
