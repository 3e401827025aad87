// SPDX-License-Identifier: Apache-2.0
import Foundation

extension MLflowClient {
    /// A JSON API call, retried while retryable. `missingIsNil`: a 404 gives an empty object.
    @discardableResult
    func call(_ method: String, _ path: String, _ body: [UInt8]?, missingIsNil: Bool = false, once: Bool = false) throws(SyncError) -> [String: Any] {
        let url = "\(baseURL)/api/2.0/mlflow/\(path)"
        var response: HTTPClient.Response?
        try retrying("\(method) \(path.split(separator: "?").first ?? "")", missingIsNil: missingIsNil, once: once) { () throws(SyncError) in
            let r = try http.send(method, url, json: body, fresh: once)
            response = r
            return r
        }
        guard let response, response.status / 100 == 2 else { return [:] }
        if response.body.isEmpty { return [:] }
        guard let json = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw SyncError(.unavailable, "\(path): the server's answer is not JSON: \(Self.excerpt(response.text))", status: response.status)
        }
        return json
    }

    /// Runs `request` until it succeeds or fails for good, waiting between tries.
    /// With `once`, the first failure is thrown, retryable or not.
    func retrying(_ what: String, missingIsNil: Bool = false, once: Bool = false, _ request: () throws(SyncError) -> HTTPClient.Response) throws(SyncError) {
        var backoff = Backoff()
        while true {
            let failure: SyncError
            do {
                let r = try request()
                if r.status / 100 == 2 || (missingIsNil && r.status == 404) {
                    connection?.succeeded()
                    return
                }
                failure = Self.classify(r, what: what)
                if !failure.isRetryable { connection?.succeeded() }  // it answered, if only to refuse
            } catch {
                failure = error
            }
            guard failure.isRetryable, !once else { throw failure }
            try connection?.failed(failure)
            onRetry?(failure)
            let wait = min(backoff.next(retryAfter: failure.retryAfter), connection?.remaining() ?? .infinity)
            logger.warning("\(failure.message); retrying in \(HumanText.fixed(wait, digits: 1)) s (try \(backoff.attempt))")
            try pause.sleep(wait)
        }
    }

    /// What an HTTP error answer means for us.
    static func classify(_ r: HTTPClient.Response, what: String) -> SyncError {
        var detail = excerpt(r.text)
        var code: MLflowErrorCode?
        if let json = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any] {
            code = (json["error_code"] as? String).map(MLflowErrorCode.init(rawValue:))
            detail = "\(code?.rawValue ?? "error"): \(excerpt(json["message"] as? String ?? ""))"
        }
        let message = "\(what): HTTP \(r.status) \(detail)"
        if code == .temporarilyUnavailable || code == .requestLimitExceeded {
            return SyncError(.unavailable, message, status: r.status, retryAfter: r.retryAfter, mlflowCode: code)
        }
        switch r.status {
        case 401: return SyncError(.unauthenticated, "\(what): HTTP 401: MLflow refused the credentials (set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or a credentials file)", status: 401, mlflowCode: code)
        case 403: return SyncError(.forbidden, "\(what): HTTP 403: permission denied by MLflow: \(detail)", status: 403, mlflowCode: code)
        case 408, 429, 500...599: return SyncError(.unavailable, message, status: r.status, retryAfter: r.retryAfter, mlflowCode: code)
        case 400...499: return SyncError(.refused, message, status: r.status, mlflowCode: code)
        default: return SyncError(.unavailable, message, status: r.status, retryAfter: r.retryAfter, mlflowCode: code)
        }
    }

    /// The first line of a text, at most 300 characters, for messages.
    static func excerpt(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let line = trimmed.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }

    static func query(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    static func segment(_ s: String) -> String { query(s) }

    static func int(_ any: Any?) -> Int64? {
        switch any {
        case let s as String: return Int64(s)
        case let n as NSNumber: return n.int64Value
        default: return nil
        }
    }

    static func double(_ any: Any?) -> Double {
        switch any {
        case let s as String:
            switch s {
            case "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default: return Double(s) ?? .nan
            }
        case let n as NSNumber: return n.doubleValue
        default: return .nan
        }
    }
}

/// Waits that a shutdown can cut short.
public final class Pause: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false
    private var clients: [HTTPClient] = []

    public init() {}

    public var isStopped: Bool { condition.withLock { stopped } }

    /// Sleeps `seconds`; throws `.cancelled` when stopped before or during.
    public func sleep(_ seconds: Double) throws(SyncError) {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !stopped, condition.wait(until: deadline) {}
        if stopped { throw SyncError(.cancelled, "shutting down") }
    }

    /// Ends every sleep now and later; with `abandonRequests`, also the requests in flight.
    public func stop(abandonRequests: Bool = false) {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
        if abandonRequests { for c in condition.withLock({ clients }) { c.cancel() } }
    }

    func register(_ client: HTTPClient) { condition.withLock { clients.append(client) } }
}
