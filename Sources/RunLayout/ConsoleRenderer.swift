// SPDX-License-Identifier: Apache-2.0
import RunLogFormat

/// Turns console records into the lines a terminal would have shown
/// (spec/format.md §4.9): each stream's texts joined, each line as it
/// stands after its last `\r`. A stream's partial line is held until it
/// ends (or `finish`), so that lines of the two streams never mix.
/// Works on UTF-8 bytes: `\r\n` is one Character to Swift, two bytes here.
public struct ConsoleRenderer: Sendable {
    /// The streams shown; nil for all.
    public var streams: Set<ConsoleText.Stream>?
    /// Microseconds: records read before this time are left out.
    public var since: Int64?
    private var partial: [ConsoleText.Stream: [UInt8]] = [:]

    public init(streams: Set<ConsoleText.Stream>? = nil, since: Int64? = nil) {
        self.streams = streams
        self.since = since
    }

    /// Whether `c` passes the stream and time filters.
    public func keeps(_ c: ConsoleText) -> Bool {
        (streams?.contains(c.stream) ?? true) && c.time >= (since ?? .min)
    }

    /// Calls `line` with each line that `c` completes, its `\n` included.
    public mutating func add(_ c: ConsoleText, line: (ArraySlice<UInt8>) -> Void) {
        guard keeps(c) else { return }
        if c.dropped > 0 {
            if let held = partial.removeValue(forKey: c.stream) { line(Self.shown(held[...]) + [0x0A]) }
            line(ArraySlice("[\(c.dropped) bytes of \(c.stream) dropped]\n".utf8))
        }
        var text = partial.removeValue(forKey: c.stream) ?? []
        text += c.text.utf8
        guard let last = text.lastIndex(of: 0x0A) else {
            if !text.isEmpty { partial[c.stream] = text }
            return
        }
        if last + 1 < text.count { partial[c.stream] = Array(text[(last + 1)...]) }
        var start = 0
        while start <= last {
            let end = text[start...last].firstIndex(of: 0x0A)!
            line(Self.shown(text[start..<end]) + [0x0A])
            start = end + 1
        }
    }

    /// Calls `line` with the partial lines still held, each ended with `\n`.
    public mutating func finish(line: (ArraySlice<UInt8>) -> Void) {
        for stream in partial.keys.sorted(by: { $0.rawValue < $1.rawValue }) {
            line(Self.shown(partial[stream]![...]) + [0x0A])
        }
        partial = [:]
    }

    /// A line as shown: the bytes after its last `\r`, a `\r` at its very end not counting.
    public static func shown(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var body = line
        while body.last == 0x0D { body = body.dropLast() }
        if let cr = body.lastIndex(of: 0x0D) { return body[(cr + 1)...] }
        return body
    }
}
