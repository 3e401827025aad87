// SPDX-License-Identifier: Apache-2.0
/// An error from encoding, decoding or opening a run log.
///
/// `description` is one line naming what was wrong and, where it applies,
/// the byte offset.
public struct FormatError: Error, CustomStringConvertible, Equatable, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case notARunLog, unsupportedVersion, headerIncomplete, recordTooLarge
            case invalidValue, compression, io, notRegularFile
        }
        let base: Base
        /// The file does not start with a valid run-log header.
        public static let notARunLog = Code(base: .notARunLog)
        /// The header is valid but names a version or flags this reader does not know.
        public static let unsupportedVersion = Code(base: .unsupportedVersion)
        /// The file is shorter than its header: it may still be being created.
        public static let headerIncomplete = Code(base: .headerIncomplete)
        /// A record or frame exceeds the format's hard limits.
        public static let recordTooLarge = Code(base: .recordTooLarge)
        /// A value given to the encoder breaks a rule of the format.
        public static let invalidValue = Code(base: .invalidValue)
        /// zstd failed.
        public static let compression = Code(base: .compression)
        /// The operating system refused a read or write.
        public static let io = Code(base: .io)
        /// The path names something other than a regular file (a FIFO, a
        /// device, a directory, a symbolic link): refused without reading it.
        public static let notRegularFile = Code(base: .notRegularFile)

        public var description: String { "\(base)" }
    }

    public let code: Code
    /// Byte offset in the file the error refers to, when there is one.
    public let offset: Int64?
    public let message: String
    /// For `.io`: the errno value.
    public let errno: Int32?

    public init(_ code: Code, _ message: String, offset: Int64? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
        self.errno = errno
    }

    public var description: String {
        if let offset { return "\(message) (at offset \(offset))" }
        return message
    }
}
