// SPDX-License-Identifier: Apache-2.0
/// An error of the sync engine: what went wrong, and whether trying again can help.
public struct SyncError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The server could not be reached or did not answer in time; retried.
        case transport
        /// The server answered with an error worth retrying (5xx, 429, 408).
        case unavailable
        /// The server refused the request for good (other 4xx): the run is quarantined.
        case refused
        /// 401: the credentials are missing or wrong. Fatal for the daemon.
        case unauthenticated
        /// 403: the credentials lack a permission: the run is quarantined.
        case forbidden
        /// The run directory or state could not be read or written.
        case io
        /// A setting is invalid.
        case config
        /// The log holds something that cannot be uploaded (e.g. a checkpoint whose bytes changed).
        case data
        /// Shutdown was requested while the request was in flight.
        case cancelled
        /// Another syncd holds the state directory's lock.
        case locked
        /// `--once` gave up: the server did not answer for `--give-up-after` seconds.
        case unreachable
    }

    public let kind: Kind
    public let message: String
    /// The HTTP status, when the server answered.
    public let status: Int?
    /// Seconds the server asked to wait (`Retry-After`).
    public let retryAfter: Double?

    public init(_ kind: Kind, _ message: String, status: Int? = nil, retryAfter: Double? = nil) {
        self.kind = kind
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
    }

    /// A state file that cannot be read.
    public init(_ error: LayoutError) {
        self.init(.io, error.message)
    }

    /// Whether the same request may succeed later.
    public var isRetryable: Bool { kind == .transport || kind == .unavailable }

    public var description: String { message }
}
