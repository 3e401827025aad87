// SPDX-License-Identifier: Apache-2.0
import RunLayout

#if canImport(Glibc)
import Glibc
#endif

/// Standard output, written in large chunks.
///
/// A reader that went away (`runlog dump x | head`) makes `write` fail with
/// EPIPE; the process then exits at once, quietly and with status 0, since
/// the reader got all it wanted. Any other write error ends it with status 2.
final class Output {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private let chunk: Int

    init(fd: Int32 = 1, chunk: Int = 1 << 18) {
        self.fd = fd
        self.chunk = chunk
        buffer.reserveCapacity(chunk + 4096)
    }

    deinit { flush() }

    /// Whether the output is a terminal (colours and progress only then).
    var isTerminal: Bool { isatty(fd) == 1 }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
        if buffer.count >= chunk { flush() }
    }

    func write(_ bytes: [UInt8]) {
        if buffer.isEmpty && bytes.count >= chunk {
            Self.writeAll(fd, bytes)
        } else {
            buffer.append(contentsOf: bytes)
            if buffer.count >= chunk { flush() }
        }
    }

    /// Writes `bytes` once they reach a chunk (or always, with `force`) and empties them,
    /// keeping their capacity: for producers that build output in their own buffer.
    func drain(_ bytes: inout [UInt8], force: Bool = false) {
        guard force || bytes.count >= chunk else { return }
        flush()
        Self.writeAll(fd, bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        Self.writeAll(fd, buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n >= 0 {
                    done += n
                    continue
                }
                switch errno {
                case EINTR, EAGAIN: continue
                case EPIPE: exit(0)
                default:
                    Diagnostics.error("cannot write output: \(SystemCall.errorText(errno))")
                    exit(CLIError.Status.cannotRead.rawValue)
                }
            }
        }
    }
}

/// Messages on standard error, one line each, prefixed with `runlog: `.
enum Diagnostics {
    static func error(_ message: String) { line("runlog: " + message) }

    static func warning(_ message: String) { line("runlog: " + message) }

    static func line(_ text: String) {
        var text = text + "\n"
        text.withUTF8 { raw in
            var done = 0
            while done < raw.count {
                let n = write(2, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue } else { return } }
                done += n
            }
        }
    }

    /// Whether standard error is a terminal.
    static var isTerminal: Bool { isatty(2) == 1 }
}

/// ANSI styles, used only when the output is a terminal and NO_COLOR is unset.
struct Style {
    let enabled: Bool

    init(terminal: Bool) {
        let term = getenv("TERM").map { String(cString: $0) } ?? ""
        enabled = terminal && getenv("NO_COLOR") == nil && term != "dumb"
    }

    func apply(_ code: String, _ text: String) -> String { enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
    func bold(_ text: String) -> String { apply("1", text) }
    func dim(_ text: String) -> String { apply("2", text) }
    func green(_ text: String) -> String { apply("32", text) }
    func red(_ text: String) -> String { apply("31", text) }
    func yellow(_ text: String) -> String { apply("33", text) }
    func cyan(_ text: String) -> String { apply("36", text) }
}
