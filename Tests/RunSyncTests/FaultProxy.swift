// SPDX-License-Identifier: Apache-2.0
import Foundation
import SeededRandom
import TestSupport

/// An HTTP proxy on 127.0.0.1 that injects faults between syncd and MLflow.
///
/// It reads each request whole, then, by a draw from a seeded generator
/// (`seed`: `TestSeed.make()`, named by a failing test with `.namesSeed`;
/// requests in the same order get the same faults): forwards it;
/// resets the connection before forwarding; forwards it and resets instead
/// of answering (the server applied a request the client never sees
/// acknowledged); answers 503, or 429 with `Retry-After: 1`; adds latency;
/// or stalls past the client's timeout. One upstream connection per request.
///
/// It also counts, at the wire, what MLflow acknowledged: the answers by
/// HTTP status, and each metric item of a `runs/log-batch` answered 200
/// (parsed here with `JSONSerialization`, not with syncd's code), so that a
/// test can tell how many items were sent again.
final class FaultProxy: @unchecked Sendable {
    enum Fault: CaseIterable { case none, resetBefore, resetAfter, unavailable, tooMany, latency, stall }

    let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let lock = NSLock()
    let seed: UInt64
    private var rng: SplitMix64
    private var weights: [(Fault, Int)]
    private(set) var counts: [Fault: Int] = [:]
    private var stopped = false
    let stallSeconds: Double
    private var itemsAcknowledged = 0
    private var distinctItems: Set<String> = []
    private var answers: [Int: Int] = [:]

    /// `faultRate` of the requests get a fault, spread over the kinds.
    init(upstreamPort: Int, faultRate: Double = 0.3, stallSeconds: Double = 4, seed: UInt64 = TestSeed.make()) throws {
        self.upstreamPort = upstreamPort
        self.stallSeconds = stallSeconds
        self.seed = seed
        rng = SplitMix64(seed: seed)
        let faulty = Int(faultRate * 1000)
        let kinds = Fault.allCases.filter { $0 != .none }
        weights = [(.none, 1000 - faulty)] + kinds.map { ($0, faulty / kinds.count) }
        (listener, port) = Self.listening()
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Metric items of log-batches MLflow answered 200, every copy counted.
    var metricItemsAcknowledged: Int { lock.withLock { itemsAcknowledged } }

    /// Metric items MLflow acknowledged more than once (same run, key, value, timestamp and step).
    var metricItemsResent: Int { lock.withLock { itemsAcknowledged - distinctItems.count } }

    /// How many of MLflow's answers had HTTP status `status`.
    func answered(_ status: Int) -> Int { lock.withLock { answers[status, default: 0] } }

    /// Lets every request through from now on.
    func heal() { lock.withLock { weights = [(.none, 1)] } }

    /// Gives every request `fault` from now on (`.unavailable`: the server answers 503).
    func always(_ fault: Fault) { lock.withLock { weights = [(fault, 1)] } }

    /// A socket listening on a free port of 127.0.0.1, and the port; `receiveBuffer`
    /// bytes, when given, for the connections it accepts (a small one slows a sender down).
    static func listening(receiveBuffer: Int32? = nil) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var addr = loopback(0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        listen(fd, 64)
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    static func loopback(_ port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = UInt16(port).bigEndian
        return a
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if lock.withLock({ stopped }) { return }
                continue
            }
            Thread.detachNewThread { [self] in serve(fd) }
        }
    }

    /// The fault for the next request (one draw from the generator).
    func draw() -> Fault {
        lock.withLock {
            let total = weights.reduce(0) { $0 + $1.1 }
            var r = Int.random(in: 0..<max(1, total), using: &rng)
            for (f, w) in weights {
                if r < w { counts[f, default: 0] += 1; return f }
                r -= w
            }
            return .none
        }
    }

    /// Serves the requests of one client connection.
    private func serve(_ client: Int32) {
        defer { close(client) }
        var buffer: [UInt8] = []
        while let request = Self.readMessage(client, &buffer) {
            let fault = draw()
            switch fault {
            case .resetBefore:
                reset(client)
                return
            case .unavailable:
                guard send(client, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nunavailable") else { return }
                continue
            case .tooMany:
                guard send(client, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nslow") else { return }
                continue
            case .stall:
                Thread.sleep(forTimeInterval: stallSeconds)
                return
            case .latency:
                Thread.sleep(forTimeInterval: Double.random(in: 0.2...0.8))
            case .none, .resetAfter:
                break
            }
            guard let response = forward(request) else { return }  // upstream down: the client sees a closed connection
            tally(request, response)
            if fault == .resetAfter {
                reset(client)
                return
            }
            guard sendBytes(client, response) else { return }
        }
    }

    private func forward(_ request: [UInt8]) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = Self.loopback(upstreamPort)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0, sendBytes(fd, request) else { return nil }
        var buffer: [UInt8] = []
        return Self.readMessage(fd, &buffer)
    }

    /// Counts an answer by status, and the metric items of a log-batch answered 200.
    private func tally(_ request: [UInt8], _ response: [UInt8]) {
        let statusLine = String(decoding: response.prefix(32), as: UTF8.self).split(separator: " ")
        let status = statusLine.count > 1 ? Int(statusLine[1]) ?? 0 : 0
        var items: [String] = []
        if status == 200, let head = request.firstRange(of: [13, 10, 13, 10]),
           String(decoding: request[..<head.lowerBound], as: UTF8.self).hasPrefix("POST /api/2.0/mlflow/runs/log-batch "),
           let body = try? JSONSerialization.jsonObject(with: Data(request[head.upperBound...])) as? [String: Any],
           let metrics = body["metrics"] as? [[String: Any]] {
            let run = body["run_id"] as? String ?? ""
            items = metrics.map { m in ["\(run)", "\(m["key"] ?? "")", "\(m["value"] ?? "")", "\(m["timestamp"] ?? "")", "\(m["step"] ?? "")"].joined(separator: "\u{1}") }
        }
        lock.withLock {
            answers[status, default: 0] += 1
            itemsAcknowledged += items.count
            distinctItems.formUnion(items)
        }
    }

    private func reset(_ fd: Int32) {
        var l = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }

    private func send(_ fd: Int32, _ s: String) -> Bool { sendBytes(fd, Array(s.utf8)) }

    private func sendBytes(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// One HTTP message (head and a Content-Length body), or nil at EOF or error.
    static func readMessage(_ fd: Int32, _ buffer: inout [UInt8]) -> [UInt8]? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return false }
            buffer += chunk[0..<n]
            return true
        }
        var headEnd: Int?
        while headEnd == nil {
            if let r = buffer.firstRange(of: separator) { headEnd = r.upperBound } else if !fill() { return nil }
        }
        let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self).lowercased()
        var length = 0
        for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
            length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
        }
        while buffer.count < headEnd! + length { if !fill() { return nil } }
        let message = Array(buffer[0..<(headEnd! + length)])
        buffer.removeFirst(headEnd! + length)
        return message
    }
}
