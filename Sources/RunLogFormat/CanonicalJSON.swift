// SPDX-License-Identifier: Apache-2.0
/// The canonical JSON Lines form of spec §6.
///
/// Appends UTF-8 lines to `output`; the caller writes and clears it.
public struct CanonicalJSON {
    public var output: [UInt8] = []

    public init(capacity: Int = 1 << 16) { output.reserveCapacity(capacity) }

    /// The header line.
    public mutating func append(_ h: FileHeader) {
        raw(#"{"kind":"header","version":1,"run_id":"#)
        string(h.runID)
        raw(#","attempt":"#); int(h.attempt)
        raw(#","rank":"#); int(h.rank)
        raw(#","segment":"#); int(h.segment)
        raw(#","created":"#); time(h.created)
        raw(#","writer":"#); string(h.writer)
        raw("}\n")
    }

    /// One line per record, one per row for metrics.
    public mutating func append(_ record: Record) {
        switch record {
        case .runStart(let s):
            raw(#"{"kind":"run_start","run_id":"#); string(s.runID)
            raw(#","project":"#); string(s.project)
            raw(#","name":"#); string(s.name)
            raw(#","group":"#); string(s.group)
            raw(#","tags":"#); strings(s.tags)
            raw(#","notes":"#); string(s.notes)
            raw(#","host":"#); string(s.host)
            raw(#","pid":"#); int(s.pid)
            raw(#","start_time":"#); time(s.startTime)
            raw(#","attempt":"#); int(s.attempt)
            raw(#","rank":"#); int(s.rank)
            raw(#","world_size":"#); int(s.worldSize)
            raw(#","job_id":"#); string(s.jobID)
            raw(#","argv":"#); strings(s.argv)
            raw(#","writer":"#); string(s.writer)
            raw("}\n")
        case .config(let entries):
            raw(#"{"kind":"config","values":"#); map(entries); raw("}\n")
        case .summary(let entries):
            raw(#"{"kind":"summary","values":"#); map(entries); raw("}\n")
        case .environment(let entries):
            raw(#"{"kind":"environment","values":"#); map(entries); raw("}\n")
        case .metrics(let block):
            appendRows(block)
        case .histogram(let h):
            raw(#"{"kind":"histogram","key":"#); string(h.key)
            raw(#","step":"#); int(h.step)
            raw(#","time":"#); time(h.time)
            switch h.bins {
            case .uniform(let low, let high):
                raw(#","range":["#); double(low); raw(","); double(high); raw("]")
            case .edges(let edges):
                raw(#","edges":["#)
                for (i, e) in edges.enumerated() { if i > 0 { raw(",") }; double(e) }
                raw("]")
            }
            raw(#","counts":["#)
            for (i, c) in h.counts.enumerated() { if i > 0 { raw(",") }; int(c) }
            raw(#"],"count":"#); int(h.count)
            raw(#","min":"#); double(h.min)
            raw(#","max":"#); double(h.max)
            raw(#","sum":"#); double(h.sum)
            raw(#","sum_squares":"#); double(h.sumSquares)
            raw(#","nonfinite":"#); int(h.nonfinite)
            raw("}\n")
        case .checkpoint(let c):
            raw(#"{"kind":"checkpoint","name":"#); string(c.name)
            raw(#","step":"#); int(c.step)
            raw(#","time":"#); time(c.time)
            raw(#","path":"#); string(c.path)
            raw(#","size":"#); int(c.size)
            raw(#","sha256":""#)
            Hex.append(c.sha256, to: &output)
            raw(#"","aliases":"#); strings(c.aliases)
            raw(#","metadata":"#); map(c.metadata)
            raw("}\n")
        case .tags(let t):
            raw(#"{"kind":"tags","add":"#); strings(t.add)
            raw(#","remove":"#); strings(t.remove)
            raw(#","notes":"#)
            if let notes = t.notes { string(notes) } else { raw("null") }
            raw("}\n")
        case .runEnd(let e):
            raw(#"{"kind":"run_end","status":"#)
            if (1...3).contains(e.status.rawValue) { string(e.status.description) } else { int(e.status.rawValue) }
            raw(#","exit_code":"#); int(e.exitCode)
            raw(#","end_time":"#); time(e.endTime)
            raw(#","message":"#); string(e.message)
            raw("}\n")
        case .checkpointRemoved(let c):
            raw(#"{"kind":"checkpoint_removed","path":"#); string(c.path)
            raw(#","time":"#); time(c.time)
            raw("}\n")
        case .console(let c):
            append(c)
        case .unknown(let kind, let body):
            raw(#"{"kind":"unknown","type":"#); int(kind)
            raw(#","length":"#); int(body.count)
            raw("}\n")
        }
    }

    /// One metrics line per row of `block`.
    public mutating func appendRows(_ block: MetricsBlock) {
        guard block.rowCount > 0 else { return }
        // Each key once as `,"key":`, all in one array: keyStarts[j]..<keyStarts[j + 1]
        // (the first key of a line leaves out the comma).
        var keyText: [UInt8] = []
        var keyStarts = [0]
        for k in block.keys {
            var j = CanonicalJSON(capacity: k.utf8.count + 4)
            j.raw(",")
            j.string(k)
            j.raw(":")
            keyText += j.output
            keyStarts.append(keyText.count)
        }
        let columns = block.columns
        // Step, time and punctuation; then per value its key (with its comma) and the number.
        let lineBound = 96 + keyText.count + columns.count * JSONNumbers.maxBytes
        var line = JSONLineBuffer(lineBound: lineBound)
        let dense = columns.allSatisfy { $0.presence == nil }
        // The next value of each column: a sparse column has none for the rows it skips.
        var cursors = [Int](repeating: 0, count: columns.count)
        keyText.withUnsafeBufferPointer { keys in
            for i in 0..<block.rowCount {
                line.reserve(lineBound, flushingTo: &output)
                line.put(#"{"kind":"metrics","step":"#)
                line.put(int: block.steps[i])
                line.put(#","time":"#)
                line.put(time: block.times[i])
                line.put(#","values":{"#)
                var first = true
                for j in columns.indices where dense || columns[j].has(row: i) {
                    line.put(UnsafeBufferPointer(rebasing: keys[(keyStarts[j] + (first ? 1 : 0))..<keyStarts[j + 1]]))
                    first = false
                    let d = columns[j].values[cursors[j]]
                    cursors[j] += 1
                    line.put(double: d)
                }
                line.put("}}\n")
            }
        }
        line.flush(to: &output)
    }

    // MARK: - Scalars

    @inline(__always)
    public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    public mutating func int<I: BinaryInteger>(_ v: I) {
        number { JSONNumbers.int(negative: v < 0, magnitude: UInt64(v.magnitude), at: $0) }
    }

    /// Microseconds as seconds with six fraction digits.
    public mutating func time(_ micros: Int64) {
        number { JSONNumbers.time(micros, at: $0) }
    }

    /// The shortest round-trip form, as Python's `repr`; NaN and infinities as strings.
    public mutating func double(_ d: Double) {
        number { JSONNumbers.double(d, at: $0) }
    }

    /// `double(d)`'s text appended to `out`: the one JSON double writer.
    public static func appendDouble(_ d: Double, to out: inout [UInt8]) {
        var json = CanonicalJSON(capacity: 0)
        swap(&json.output, &out)
        json.double(d)
        swap(&json.output, &out)
    }

    /// Appends the number `write` puts at a pointer, without allocating.
    @inline(__always)
    private mutating func number(_ write: (UnsafeMutablePointer<UInt8>) -> Int) {
        var text: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // JSONNumbers.maxBytes
        withUnsafeMutableBytes(of: &text) { b in
            let p = b.baseAddress!.assumingMemoryBound(to: UInt8.self)
            output.append(contentsOf: UnsafeBufferPointer(start: p, count: write(p)))
        }
    }

    public mutating func string(_ s: String) {
        Self.appendString(s, to: &output)
    }

    /// `s` as a JSON string, quoted, appended to `out`: `"` and `\` escaped,
    /// control characters as `\b \f \n \r \t` or `\u00XX`, the rest as its UTF-8.
    public static func appendString(_ s: String, to out: inout [UInt8]) {
        func escaped(_ c: UInt8) { out.append(UInt8(ascii: "\\")); out.append(c) }
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case 0x22, 0x5C: escaped(c)
            case 0x08: escaped(UInt8(ascii: "b"))
            case 0x0C: escaped(UInt8(ascii: "f"))
            case 0x0A: escaped(UInt8(ascii: "n"))
            case 0x0D: escaped(UInt8(ascii: "r"))
            case 0x09: escaped(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: #"\u00"#.utf8)
                Hex.append(CollectionOfOne(c), to: &out)
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    public mutating func strings(_ xs: [String]) {
        output.append(UInt8(ascii: "["))
        for (i, x) in xs.enumerated() {
            if i > 0 { output.append(UInt8(ascii: ",")) }
            string(x)
        }
        output.append(UInt8(ascii: "]"))
    }

    public mutating func value(_ v: Value) {
        switch v {
        case .null: raw("null")
        case .bool(let b): if b { raw("true") } else { raw("false") }
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .list(let items):
            output.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { output.append(UInt8(ascii: ",")) }
                value(item)
            }
            output.append(UInt8(ascii: "]"))
        case .map(let entries): map(entries)
        }
    }

    /// An object; a key repeated keeps its last value at its first position.
    public mutating func map(_ entries: [Entry]) {
        let collapsed = Value.collapsed(entries)
        output.append(UInt8(ascii: "{"))
        for (i, e) in collapsed.enumerated() {
            if i > 0 { output.append(UInt8(ascii: ",")) }
            string(e.key)
            output.append(UInt8(ascii: ":"))
            value(e.value)
        }
        output.append(UInt8(ascii: "}"))
    }

    /// The canonical lines of a whole log (header, records) as a string.
    public static func lines(header: FileHeader, records: [Record]) -> String {
        var j = CanonicalJSON()
        j.append(header)
        for r in records { j.append(r) }
        return String(decoding: j.output, as: UTF8.self)
    }
}
