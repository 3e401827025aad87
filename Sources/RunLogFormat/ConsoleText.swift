// SPDX-License-Identifier: Apache-2.0
/// Text a process wrote to its standard output or standard error (spec §4.9).
///
/// A stream's output is the concatenation of its records' `text`, in order.
/// A text holds whole lines and may end in a partial line that the stream's
/// next record continues. A line rewritten with `\r` (a progress bar) is
/// stored in its final state; a text that starts with `\r` replaces the
/// partial line before it.
public struct ConsoleText: Sendable, Equatable {
    public struct Stream: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt64
        public init(rawValue: UInt64) { self.rawValue = rawValue }
        public static let stdout = Stream(rawValue: 1)
        public static let stderr = Stream(rawValue: 2)
        /// `stdout`, `stderr`, or the number of a stream this reader does not know.
        public var description: String {
            switch rawValue {
            case 1: return "stdout"
            case 2: return "stderr"
            default: return "\(rawValue)"
            }
        }
    }

    public var stream: Stream
    /// Microseconds since the Unix epoch: when the text was read.
    public var time: Int64
    public var text: String
    /// Bytes of this stream dropped just before `text` (the writer could not keep up).
    public var dropped: UInt64

    public init(stream: Stream, time: Int64, text: String, dropped: UInt64 = 0) {
        self.stream = stream
        self.time = time
        self.text = text
        self.dropped = dropped
    }

    func encodeBody(into w: inout WireWriter) {
        w.uint(1, stream.rawValue, always: true)
        w.sint(2, time)
        w.string(3, text)
        w.uint(4, dropped)
    }

    /// nil when malformed: no stream, or stream 0.
    static func decode(_ r: WireReader) -> ConsoleText? {
        var r = r
        let src = r
        var c = ConsoleText(stream: Stream(rawValue: 0), time: 0, text: "")
        let ok = r.forEachField { field, v in
            switch field {
            case 1: guard let x = v.uint else { return false }; c.stream = Stream(rawValue: x)
            case 2: guard let x = v.sint else { return false }; c.time = x
            case 3: guard let x = v.range else { return false }; c.text = src.string(x)
            case 4: guard let x = v.uint else { return false }; c.dropped = x
            default: break
            }
            return true
        }
        return ok && c.stream.rawValue != 0 ? c : nil
    }
}

extension CanonicalJSON {
    mutating func append(_ c: ConsoleText) {
        raw(#"{"kind":"console","stream":"#)
        if (1...2).contains(c.stream.rawValue) { string(c.stream.description) } else { int(c.stream.rawValue) }
        raw(#","time":"#); time(c.time)
        raw(#","text":"#); string(c.text)
        raw(#","dropped":"#); int(c.dropped)
        raw("}\n")
    }
}
