// SPDX-License-Identifier: Apache-2.0
/// An error of the sync engine: what went wrong, as a code that decides what
/// happens next (`disposition`), and one line saying why.
///
/// Decisions are taken from `code`, `status` and `mlflowCode`, never from
/// `message`, which is for people.
public struct SyncError: Error, CustomStringConvertible, Sendable, Equatable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: Hashable, Sendable {
            case transport, unavailable, refused, unauthenticated, forbidden, io, state, config, data, cancelled, locked, unreachable
        }
        let base: Base
        /// The server could not be reached or did not answer in time: retried.
        public static let transport = Code(base: .transport)
        /// The server answered with an error worth retrying (5xx, 429, 408), or an unreadable answer: retried.
        public static let unavailable = Code(base: .unavailable)
        /// The server refused the request for good (other 4xx): the run is quarantined.
        public static let refused = Code(base: .refused)
        /// 401: the credentials are missing or wrong: fatal for the daemon.
        public static let unauthenticated = Code(base: .unauthenticated)
        /// 403: the credentials lack a permission: the run is quarantined.
        public static let forbidden = Code(base: .forbidden)
        /// A run directory or a log could not be read, or a destination's local
        /// files could not be written: the run is quarantined.
        public static let io = Code(base: .io)
        /// syncd's own state directory could not be read or written: fatal,
        /// since no cursor can be kept.
        public static let state = Code(base: .state)
        /// A setting is invalid: fatal.
        public static let config = Code(base: .config)
        /// The log holds something that cannot be uploaded (e.g. a checkpoint
        /// whose bytes changed): the run is quarantined.
        public static let data = Code(base: .data)
        /// Shutdown was requested while the request was in flight.
        public static let cancelled = Code(base: .cancelled)
        /// Another syncd holds the state directory's lock: fatal.
        public static let locked = Code(base: .locked)
        /// `--once` gave up: the server did not answer for `--give-up-after` seconds: fatal.
        public static let unreachable = Code(base: .unreachable)

        public var description: String { "\(base)" }
    }

    /// What the engine does about an error.
    public enum Disposition: Sendable, Equatable {
        /// Try the same request again after a backoff.
        case retry
        /// Stop syncing this run (to this destination) until the quarantine retry is due.
        case quarantine
        /// Stop the daemon: nothing can succeed until a person acts.
        case fatal
        /// Shutting down: neither an error of the run nor of the daemon.
        case stop
    }

    public let code: Code
    public let message: String
    /// The HTTP status, when the server answered.
    public let status: Int?
    /// Seconds the server asked to wait (`Retry-After`).
    public let retryAfter: Double?
    /// MLflow's `error_code`, when its answer had one.
    public let mlflowCode: MLflowErrorCode?

    public init(_ code: Code, _ message: String, status: Int? = nil, retryAfter: Double? = nil, mlflowCode: MLflowErrorCode? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
        self.mlflowCode = mlflowCode
    }

    /// A state file that cannot be read.
    public init(_ error: LayoutError) {
        self.init(.state, error.message)
    }

    public var disposition: Disposition {
        switch code {
        case .transport, .unavailable: return .retry
        case .refused, .forbidden, .io, .data: return .quarantine
        case .cancelled: return .stop
        default: return .fatal
        }
    }

    /// Whether the same request may succeed later.
    public var isRetryable: Bool { disposition == .retry }

    public var description: String { message }
}

/// The `error_code` of an MLflow error answer (`{"error_code": …, "message": …}`),
/// as MLflow's `databricks_pb2.ErrorCode` names it.
public struct MLflowErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let resourceAlreadyExists = MLflowErrorCode(rawValue: "RESOURCE_ALREADY_EXISTS")
    public static let resourceDoesNotExist = MLflowErrorCode(rawValue: "RESOURCE_DOES_NOT_EXIST")
    public static let invalidParameterValue = MLflowErrorCode(rawValue: "INVALID_PARAMETER_VALUE")
    public static let invalidState = MLflowErrorCode(rawValue: "INVALID_STATE")
    public static let permissionDenied = MLflowErrorCode(rawValue: "PERMISSION_DENIED")
    public static let unauthenticated = MLflowErrorCode(rawValue: "UNAUTHENTICATED")
    public static let internalError = MLflowErrorCode(rawValue: "INTERNAL_ERROR")
    public static let temporarilyUnavailable = MLflowErrorCode(rawValue: "TEMPORARILY_UNAVAILABLE")
    public static let requestLimitExceeded = MLflowErrorCode(rawValue: "REQUEST_LIMIT_EXCEEDED")

    public var description: String { rawValue }
}
