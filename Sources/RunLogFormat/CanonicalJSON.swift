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
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            for b in c.sha256 { output.append(hex[Int(b >> 4)]); output.append(hex[Int(b & 15)]) }
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
        case .unknown(let kind, let body):
            raw(#"{"kind":"unknown","type":"#); int(kind)
            raw(#","length":"#); int(body.count)
            raw("}\n")
        }
    }

    /// One metrics line per row of `block`.
    public mutating func appendRows(_ block: MetricsBlock, rows: Range<Int>? = nil) {
        var cursors = [Int](repeating: 0, count: block.columns.count)
        let range = rows ?? 0..<block.rowCount
        // Advance cursors to the first row wanted.
        if range.lowerBound > 0 {
            for j in block.columns.indices {
                for i in 0..<range.lowerBound where block.columns[j].has(row: i) { cursors[j] += 1 }
            }
        }
        let encodedKeys = block.keys.map { k -> [UInt8] in
            var j = CanonicalJSON(capacity: k.utf8.count + 4)
            j.string(k)
            j.raw(":")
            return j.output
        }
        if block.columns.allSatisfy({ $0.presence == nil }) {
            // Every row has every key (the common case): row i is value i of each column.
            let columns = block.columns.map(\.values)
            let separated = encodedKeys.enumerated().map { j, key in j == 0 ? key : [UInt8(ascii: ",")] + key }
            for i in range {
                raw(#"{"kind":"metrics","step":"#); int(block.steps[i])
                raw(#","time":"#); time(block.times[i])
                raw(#","values":{"#)
                for j in columns.indices {
                    output.append(contentsOf: separated[j])
                    double(columns[j][i])
                }
                raw("}}\n")
            }
            return
        }
        for i in range {
            raw(#"{"kind":"metrics","step":"#); int(block.steps[i])
            raw(#","time":"#); time(block.times[i])
            raw(#","values":{"#)
            var first = true
            for j in block.columns.indices where block.columns[j].has(row: i) {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                output.append(contentsOf: encodedKeys[j])
                double(block.columns[j].values[cursors[j]])
                cursors[j] += 1
            }
            raw("}}\n")
        }
    }

    // MARK: - Scalars

    @inline(__always)
    public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { output.append(contentsOf: $0) }
    }

    public mutating func int<I: BinaryInteger>(_ v: I) {
        if v < 0 { output.append(UInt8(ascii: "-")) }
        digits(UInt64(v.magnitude), minimumCount: 1)
    }

    /// Microseconds as seconds with six fraction digits.
    public mutating func time(_ micros: Int64) {
        let magnitude = micros.magnitude
        if micros < 0 { output.append(UInt8(ascii: "-")) }
        digits(magnitude / 1_000_000, minimumCount: 1)
        output.append(UInt8(ascii: "."))
        digits(magnitude % 1_000_000, minimumCount: 6)
    }

    /// `n` in decimal, zero-padded to `minimumCount` digits (at most 20), without allocating.
    private mutating func digits(_ n: UInt64, minimumCount: Int) {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for the 20 digits of UInt64.max
        withUnsafeMutableBytes(of: &buffer) { b in
            var i = b.count
            var x = n
            repeat {
                i -= 1
                b[i] = 0x30 + UInt8(truncatingIfNeeded: x % 10)
                x /= 10
            } while x != 0 || b.count - i < minimumCount
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i...]))
        }
    }

    /// The shortest round-trip form, as Python's `repr`; NaN and infinities as strings.
    public mutating func double(_ d: Double) {
        if d.isNaN { raw(#""NaN""#); return }
        if d.isInfinite { if d < 0 { raw(#""-Infinity""#) } else { raw(#""Infinity""#) }; return }
        // Swift prints the shortest round-trip digits, as repr does, but turns
        // to exponent form from 2^53 where repr waits until 1e16.
        if d.magnitude >= 0x1p53, d.magnitude < 1e16 {
            var s = Self.positional(d.description)
            s.withUTF8 { output.append(contentsOf: $0) }
            return
        }
        // The same digits as `description`, written straight into the output
        // instead of through a String allocated for each number.
        var sink = ByteSink()
        swap(&sink.bytes, &output)
        d.write(to: &sink)
        swap(&sink.bytes, &output)
    }

    /// Appends text to a byte array; the standard library hands number digits
    /// to `_writeASCII` without making a String (and falls back to `write`).
    private struct ByteSink: TextOutputStream {
        var bytes: [UInt8] = []

        mutating func write(_ string: String) {
            var string = string
            string.withUTF8 { bytes.append(contentsOf: $0) }
        }

        mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
            bytes.append(contentsOf: buffer)
        }
    }

    /// "9.999999999999998e+15" → "9999999999999998.0" (integers below 1e16 only).
    static func positional(_ s: String) -> String {
        guard let e = s.firstIndex(of: "e"), let exponent = Int(s[s.index(after: e)...]) else { return s }
        var mantissa = s[..<e]
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa = mantissa.dropFirst() }
        var digits = String(mantissa.filter { $0 != "." })
        guard digits.count <= exponent + 1 else { return s }
        digits += String(repeating: "0", count: exponent + 1 - digits.count)
        return (negative ? "-" : "") + digits + ".0"
    }

    public mutating func string(_ s: String) {
        output.append(UInt8(ascii: "\""))
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for c in s.utf8 {
            switch c {
            case 0x22: raw(#"\""#)
            case 0x5C: raw(#"\\"#)
            case 0x08: raw(#"\b"#)
            case 0x0C: raw(#"\f"#)
            case 0x0A: raw(#"\n"#)
            case 0x0D: raw(#"\r"#)
            case 0x09: raw(#"\t"#)
            case 0..<0x20:
                raw(#"\u00"#)
                output.append(hex[Int(c >> 4)])
                output.append(hex[Int(c & 15)])
            default: output.append(c)
            }
        }
        output.append(UInt8(ascii: "\""))
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
