// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

#if canImport(Glibc)
import Glibc
#endif

/// `RunOptions.captureConsole`: descriptors 1 and 2 become pipes that a
/// thread of this process reads; it passes the bytes on unchanged to where
/// they went before and records them as console records (spec/format.md
/// §4.9) in the run's log, a line redrawn with `\r` in its final state.
///
/// In-process: what a hard death (`kill -9`, a crash) cuts off is what the
/// logger had not written yet, as for metrics: the text read in the last
/// `RunOptions.writeInterval` before it, and a line still open (no newline)
/// for up to 1 s more, a progress bar up to 10 s, before it is recorded.
/// The Python client's helper process, which outlives the program, keeps it. Never blocks the program on the disk: text that finds
/// the logger's memory cap reached is dropped, and its byte count recorded
/// in the stream's next record (`dropped`).
final class ConsoleCapture: @unchecked Sendable {
    private let pipeline: Pipeline
    private let saved: [Int32]  // the original descriptors 1 and 2
    private let reads: [Int32]
    private var folders = [ConsoleLineFolder(), ConsoleLineFolder()]
    private var held: [[UInt8]] = [[], []]  // the start of a UTF-8 character cut by a read
    private var dropped: [UInt64] = [0, 0]
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopped = false

    /// Starts capturing; nil when the pipes cannot be made (reported).
    init?(pipeline: Pipeline) {
        self.pipeline = pipeline
        var fds: [Int32] = [0, 0, 0, 0]
        guard pipe(&fds[0]) == 0 else { return nil }
        guard pipe(&fds[2]) == 0 else {
            close(fds[0]); close(fds[1])
            return nil
        }
        fflush(nil)
        saved = [dup(1), dup(2)]
        reads = [fds[0], fds[2]]
        for fd in reads + saved { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        dup2(fds[1], 1)
        dup2(fds[3], 2)
        close(fds[1])
        close(fds[3])
        let thread = Thread { [self] in readLoop() }
        thread.name = "runlog-console"
        thread.start()
    }

    /// Puts descriptors 1 and 2 back, then records what is left (waits up
    /// to `timeout` seconds for child processes still holding the pipes).
    func stop(timeout: Double = 5) {
        lock.lock()
        guard !stopped else { lock.unlock(); return }
        stopped = true
        lock.unlock()
        fflush(nil)
        dup2(saved[0], 1)
        dup2(saved[1], 2)
        _ = done.wait(timeout: .now() + timeout)
    }

    private func readLoop() {
        var open = [true, true]
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var polls = reads.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        while open.contains(true) {
            let ready = poll(&polls, nfds_t(polls.count), 250)
            let now = Double(Monitor.now()) / 1e9
            if ready > 0 {
                for i in 0..<2 where open[i] && polls[i].revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { read(reads[i], $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 {
                        open[i] = false
                        polls[i].fd = -1
                        continue
                    }
                    var at = 0
                    while at < n {
                        let w = buffer.withUnsafeBytes { write(saved[i], $0.baseAddress! + at, n - at) }
                        if w <= 0 { break }  // the terminal went away: keep recording
                        at += w
                    }
                    var bytes = held[i] + buffer[0..<n]
                    let cut = Self.completeUTF8(bytes)
                    held[i] = Array(bytes[cut...])
                    bytes.removeSubrange(cut...)
                    record(i, folders[i].feed(bytes[...], now: now))
                }
            }
            for i in 0..<2 where folders[i].isDue(now: now, plainAfter: 1, barAfter: 10) {
                record(i, folders[i].takePartial(now: now))
            }
        }
        for i in 0..<2 { record(i, held[i] + folders[i].takePartial(), last: true) }
        for fd in reads + saved { close(fd) }
        done.signal()
    }

    private func record(_ i: Int, _ text: [UInt8], last: Bool = false) {
        guard !text.isEmpty || (last && dropped[i] > 0) else { return }
        let c = ConsoleText(stream: i == 0 ? .stdout : .stderr, time: Monitor.wallMicros(),
                            text: String(decoding: text, as: UTF8.self), dropped: dropped[i])
        if pipeline.appendIfRoom(record: .console(c)) {
            dropped[i] = 0
        } else {
            dropped[i] += UInt64(text.count)
        }
    }

    /// The length of `bytes` without a UTF-8 character cut at its end.
    static func completeUTF8(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        var back = 0
        while i >= 0 && back < 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 {  // a lead byte (or ASCII): is its character whole?
                let need = b >= 0xF8 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                return back + 1 >= need ? bytes.count : i
            }
            i -= 1
            back += 1
        }
        return bytes.count
    }
}
