// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A TCP relay on 127.0.0.1 in front of a server that passes bytes both ways
/// unchanged, except that it stops reading a client once that client has
/// sent `marker` and `after` more bytes, until `resume()`: an upload held
/// part-way through its body, so that a test can change the file meanwhile.
/// Its receive buffer is small, so that the client can send little more
/// than `after` bytes past the marker before it blocks.
final class PausingRelay: @unchecked Sendable {
    let port: Int
    private let upstreamPort: Int
    private let listener: Int32
    private let marker: [UInt8]
    private let after: Int
    private let held = DispatchSemaphore(value: 0)
    private let released = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var pausedOnce = false

    init(upstreamPort: Int, marker: String, after: Int) {
        self.upstreamPort = upstreamPort
        self.marker = Array(marker.utf8)
        self.after = after
        (listener, port) = FaultProxy.listening(receiveBuffer: 64 << 10)
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                Thread.detachNewThread { [self] in relay(client) }
            }
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Waits up to `timeout` s for an upload to be held; whether one was.
    func waitUntilHeld(timeout: Double) -> Bool { held.wait(timeout: .now() + timeout) == .success }

    /// Lets the held upload go on.
    func resume() { released.signal() }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func relay(_ client: Int32) {
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = FaultProxy.loopback(upstreamPort)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else {
            close(upstream)
            close(client)
            return
        }
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            pump(from: upstream, to: client, watch: false)
            done.signal()
        }
        pump(from: client, to: upstream, watch: true)
        done.wait()
        close(upstream)
        close(client)
    }

    private func firstPause() -> Bool {
        lock.withLock {
            defer { pausedOnce = true }
            return !pausedOnce
        }
    }

    /// Copies until either side closes; then shuts both down, so the other direction ends too.
    private func pump(from source: Int32, to sink: Int32, watch: Bool) {
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        var tail: [UInt8] = []  // the last bytes seen, for a marker cut across reads
        var since: Int?  // bytes relayed since the marker
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            var sent = 0
            while sent < n {
                let m = chunk[sent..<n].withUnsafeBytes { send(sink, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if m <= 0 { break }
                sent += m
            }
            if sent < n { break }
            guard watch else { continue }
            if let s = since {
                since = s + n
            } else {
                let window = tail + chunk[0..<n]
                if let r = window.firstRange(of: marker) { since = window.count - r.upperBound }
                tail = Array(window.suffix(marker.count))
            }
            if let s = since, s >= after, firstPause() {
                held.signal()
                released.wait()
            }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(sink, Int32(SHUT_RDWR))
    }
}
