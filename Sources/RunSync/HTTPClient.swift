// SPDX-License-Identifier: Apache-2.0
import CCurl
import Foundation

/// One HTTP connection (a libcurl easy handle, kept alive between requests).
///
/// Not thread-safe: each worker owns its own client. Requests are bounded in
/// time (`timeout` for JSON requests, a stall limit for uploads) and can be
/// abandoned from another thread with `cancel()`.
public final class HTTPClient: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
        /// Seconds from a `Retry-After` header, when present.
        public var retryAfter: Double?
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Options shared by every request of a client.
    public struct Options: Sendable {
        /// Whole-request limit for requests with a body in memory, in seconds.
        public var timeout: Double = 60
        public var connectTimeout: Double = 10
        /// An upload is abandoned after this many seconds without progress.
        public var stallTimeout: Double = 60
        /// A CA bundle to verify TLS peers against (verification is always on).
        public var caBundle: String?
        public var credentials: Credentials = .none
        public init() {}
    }

    public let options: Options
    private let handle: UnsafeMutableRawPointer
    private let cancellation = Cancellation()

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_ALL)) }()

    public init(options: Options = Options()) {
        _ = Self.globalInit
        self.options = options
        handle = curl_easy_init()
    }

    deinit { curl_easy_cleanup(handle) }

    /// Makes the request in flight (and any later one, until `reset`) fail
    /// with `.cancelled`, at once: its socket is shut down, as libcurl would
    /// see the flag only at its next progress call, up to a second later
    /// while the server is silent.
    public func cancel() { cancellation.cancel() }

    /// Sends a request whose body (if any) is in memory. With `fresh`, on
    /// a new connection closed afterwards: libcurl silently sends a request
    /// again when a reused connection dies before the answer, which a
    /// non-idempotent request (creating a run) must never be.
    public func send(_ method: String, _ url: String, json body: [UInt8]? = nil, fresh: Bool = false) throws(SyncError) -> Response {
        try perform(method, url, body: body.map { .memory($0) }, fresh: fresh)
    }

    /// Streams a file as the body of a PUT, aborting it before it completes
    /// (`.data` error) when the bytes sent do not have the SHA-256 `sha256`.
    public func upload(_ url: String, file path: String, size: UInt64, sha256: [UInt8]) throws(SyncError) -> Response {
        try perform("PUT", url, body: .file(path, size, sha256))
    }

    enum Body {
        case memory([UInt8])
        case file(String, UInt64, [UInt8])
    }

    private func perform(_ method: String, _ url: String, body: Body?, fresh: Bool = false) throws(SyncError) -> Response {
        if cancellation.isCancelled { throw SyncError(.cancelled, "\(method) \(Self.redact(url)): shutting down") }
        curl_easy_reset(handle)
        let ctx = Context()
        let unmanaged = Unmanaged.passRetained(ctx)
        defer { unmanaged.release() }
        let opaque = unmanaged.toOpaque()
        var headers: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headers) }
        var upload: FileUpload?
        defer { upload?.close() }

        func set(_ o: CURLoption, _ v: Int) { _ = runlog_curl_setopt_long(handle, o, v) }
        func set(_ o: CURLoption, _ s: String) { _ = s.withCString { runlog_curl_setopt_ptr(handle, o, $0) } }

        set(CURLOPT_URL, url)
        set(CURLOPT_NOSIGNAL, 1)
        if fresh {
            set(CURLOPT_FRESH_CONNECT, 1)
            set(CURLOPT_FORBID_REUSE, 1)
        }
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
        set(CURLOPT_SSL_VERIFYPEER, 1)
        set(CURLOPT_SSL_VERIFYHOST, 2)
        if let ca = options.caBundle { set(CURLOPT_CAINFO, ca) }
        set(CURLOPT_CUSTOMREQUEST, method)
        _ = runlog_curl_setopt_write(handle, { data, size, count, user in
            let ctx = Unmanaged<Context>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            guard ctx.body.count + n <= Context.maxBody else { return 0 }
            data!.withMemoryRebound(to: UInt8.self, capacity: n) { ctx.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            return n
        })
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, opaque)
        _ = runlog_curl_setopt_header(handle, { data, size, count, user in
            let ctx = Unmanaged<Context>.fromOpaque(user!).takeUnretainedValue()
            let n = size * count
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: n), as: UTF8.self)
            if line.lowercased().hasPrefix("retry-after:") {
                ctx.retryAfter = Double(line.dropFirst(12).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            return n
        })
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, opaque)
        // Progress callback: abandons the transfer once cancel() was called.
        ctx.cancellation = cancellation
        set(CURLOPT_NOPROGRESS, 0)
        let progress: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, curl_off_t, curl_off_t, curl_off_t) -> Int32 = {
            user, _, _, _, _ in
            Unmanaged<Context>.fromOpaque(user!).takeUnretainedValue().cancellation?.isCancelled == true ? 1 : 0
        }
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_XFERINFOFUNCTION, unsafeBitCast(progress, to: UnsafeRawPointer.self))
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_XFERINFODATA, opaque)
        // The connections' sockets, for cancel() to shut down.
        let opened: @convention(c) (UnsafeMutableRawPointer?, curl_socket_t, curlsocktype) -> Int32 = { user, fd, _ in
            Unmanaged<Cancellation>.fromOpaque(user!).takeUnretainedValue().opened(fd)
        }
        let closing: @convention(c) (UnsafeMutableRawPointer?, curl_socket_t) -> Int32 = { user, fd in
            Unmanaged<Cancellation>.fromOpaque(user!).takeUnretainedValue().close(fd)
        }
        let slot = Unmanaged.passUnretained(cancellation).toOpaque()
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_SOCKOPTFUNCTION, unsafeBitCast(opened, to: UnsafeRawPointer.self))
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_SOCKOPTDATA, slot)
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_CLOSESOCKETFUNCTION, unsafeBitCast(closing, to: UnsafeRawPointer.self))
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_CLOSESOCKETDATA, slot)

        switch options.credentials {
        case .none: break
        case .token(let t): headers = curl_slist_append(headers, "Authorization: Bearer \(t)")
        case .basic(let user, let password):
            set(CURLOPT_HTTPAUTH, 1)  // CURLAUTH_BASIC
            set(CURLOPT_USERNAME, user)
            set(CURLOPT_PASSWORD, password)
        }
        headers = curl_slist_append(headers, "Expect:")
        switch body {
        case nil:
            set(CURLOPT_TIMEOUT_MS, Int(options.timeout * 1000))
        case .memory(let bytes):
            headers = curl_slist_append(headers, "Content-Type: application/json")
            ctx.request = bytes
            set(CURLOPT_POSTFIELDSIZE, bytes.count)
            ctx.request.withUnsafeBytes { _ = runlog_curl_setopt_ptr(handle, CURLOPT_POSTFIELDS, $0.baseAddress) }
            set(CURLOPT_TIMEOUT_MS, Int(options.timeout * 1000))
        case .file(let path, let size, let sha256):
            upload = try FileUpload(path: path, size: size, sha256: sha256)
            ctx.upload = upload
            headers = curl_slist_append(headers, "Content-Type: application/octet-stream")
            set(CURLOPT_UPLOAD, 1)
            _ = runlog_curl_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(size))
            _ = runlog_curl_setopt_read(handle, { data, size, count, user in
                let ctx = Unmanaged<Context>.fromOpaque(user!).takeUnretainedValue()
                return ctx.upload!.read(into: data!, max: size * count)
            })
            _ = runlog_curl_setopt_ptr(handle, CURLOPT_READDATA, opaque)
            set(CURLOPT_LOW_SPEED_LIMIT, 1)
            set(CURLOPT_LOW_SPEED_TIME, max(1, Int(options.stallTimeout)))
        }
        _ = runlog_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headers)

        let code = curl_easy_perform(handle)
        if code != CURLE_OK {
            let what = "\(method) \(Self.redact(url))"
            if cancellation.isCancelled { throw SyncError(.cancelled, "\(what): abandoned for shutdown") }
            if let failure = upload?.failure { throw failure }
            let reason = String(cString: curl_easy_strerror(code))
            if code == CURLE_SSL_CACERT_BADFILE || code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT {
                throw SyncError(.config, "\(what): \(reason)")
            }
            throw SyncError(.transport, "\(what): \(reason)")
        }
        var status = 0
        _ = runlog_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, body: ctx.body, retryAfter: ctx.retryAfter)
    }

    /// The URL without user information, for messages.
    static func redact(_ url: String) -> String { URLUserInfo.redacted(url) }

    final class Context {
        static let maxBody = 64 << 20
        var body: [UInt8] = []
        var request: [UInt8] = []
        var retryAfter: Double?
        var upload: FileUpload?
        var cancellation: Cancellation?
    }
}

/// How requests authenticate. Never printed.
public enum Credentials: Sendable, CustomStringConvertible {
    case none
    case token(String)
    case basic(user: String, password: String)

    public var description: String {
        switch self {
        case .none: return "none"
        case .token: return "bearer token"
        case .basic(let user, _): return "basic auth as \(user)"
        }
    }
}

/// Whether a client's requests are cancelled, and the sockets of its
/// connections while libcurl has them open (the one kept alive, and a fresh
/// one beside it), to shut down when they are. Shutting them down and closing
/// one take one lock, so `cancel` never reaches a descriptor number that was
/// closed and reused meanwhile.
final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var open: Set<Int32> = []
    private var cancelled = false

    var isCancelled: Bool { lock.withLock { cancelled } }

    /// Takes a new socket (libcurl's socket-option callback): 0 to go on, or
    /// 1 to fail the transfer once cancelled. libcurl sends a request again
    /// on a new connection when its reused one dies, as a shut-down one does.
    func opened(_ socket: Int32) -> Int32 {
        lock.withLock {
            open.insert(socket)
            return cancelled ? 1 : 0  // CURL_SOCKOPT_ERROR, CURL_SOCKOPT_OK
        }
    }

    /// Closes `socket` for libcurl (its close-socket callback): 0, or 1 on failure.
    func close(_ socket: Int32) -> Int32 {
        lock.withLock {
            open.remove(socket)
            return Glibc.close(socket) == 0 ? 0 : 1
        }
    }

    /// Cancels, and ends the connections' traffic both ways: a transfer
    /// waiting on one returns at once.
    func cancel() {
        lock.withLock {
            cancelled = true
            for fd in open { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }
}
