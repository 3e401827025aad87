// SPDX-License-Identifier: Apache-2.0
import RunLog

/// The readable text form of `runlog dump`: one line per record (one per row
/// for metrics), the kind first, then `name=value` pairs.
///
/// Strings, lists and maps are written as JSON, so control characters in a
/// log never reach the terminal raw; numbers are locale-independent and read
/// back exactly; times are UTC. Appends to `output`; the caller writes and clears it.
struct TextFormatter {
    private var json = CanonicalJSON()

    var output: [UInt8] {
        get { json.output }
        _modify { yield &json.output }
    }

    init() {}

    mutating func append(header h: FileHeader, file: String) {
        kind("header")
        word("file="); json.string(file)
        word(" run_id="); json.string(h.runID)
        word(" attempt="); json.int(h.attempt)
        word(" rank="); json.int(h.rank)
        word(" segment="); json.int(h.segment)
        word(" created="); time(h.created)
        word(" writer="); json.string(h.writer)
        newline()
    }

    mutating func append(_ record: Record) {
        switch record {
        case .runStart(let s):
            kind("run_start")
            word("run_id="); json.string(s.runID)
            optional(" project=", s.project)
            optional(" name=", s.name)
            optional(" group=", s.group)
            if !s.tags.isEmpty { word(" tags="); json.strings(s.tags) }
            optional(" notes=", s.notes)
            optional(" host=", s.host)
            if s.pid != 0 { word(" pid="); json.int(s.pid) }
            word(" start_time="); time(s.startTime)
            word(" attempt="); json.int(s.attempt)
            word(" rank="); json.int(s.rank)
            if s.worldSize != 0 { word(" world_size="); json.int(s.worldSize) }
            optional(" job_id=", s.jobID)
            if !s.argv.isEmpty { word(" argv="); json.strings(s.argv) }
            optional(" writer=", s.writer)
            newline()
        case .config(let entries):
            kind("config")
            pairs(entries)
            newline()
        case .summary(let entries):
            kind("summary")
            pairs(entries)
            newline()
        case .environment(let entries):
            kind("environment")
            pairs(entries)
            newline()
        case .metrics(let block):
            appendRows(block)
        case .histogram(let h):
            kind("histogram")
            word("step="); json.int(h.step)
            word(" time="); time(h.time)
            word(" key="); key(h.key)
            word(" bins="); json.int(h.counts.count)
            switch h.bins {
            case .uniform(let low, let high):
                word(" range=["); double(low); word(","); double(high); word("]")
            case .edges(let edges):
                word(" edges=[")
                for (i, e) in edges.enumerated() { if i > 0 { word(",") }; double(e) }
                word("]")
            }
            word(" count="); json.int(h.count)
            word(" min="); double(h.min)
            word(" max="); double(h.max)
            word(" sum="); double(h.sum)
            word(" sum_squares="); double(h.sumSquares)
            word(" nonfinite="); json.int(h.nonfinite)
            word(" counts=[")
            for (i, c) in h.counts.enumerated() { if i > 0 { word(",") }; json.int(c) }
            word("]")
            newline()
        case .checkpoint(let c):
            kind("checkpoint")
            word("step="); json.int(c.step)
            word(" time="); time(c.time)
            word(" name="); json.string(c.name)
            word(" path="); json.string(c.path)
            word(" size="); json.int(c.size)
            word(" sha256=")
            Hex.append(c.sha256, to: &json.output)
            if !c.aliases.isEmpty { word(" aliases="); json.strings(c.aliases) }
            if !c.metadata.isEmpty { word(" metadata="); json.map(c.metadata) }
            newline()
        case .tags(let t):
            kind("tags")
            word("add="); json.strings(t.add)
            word(" remove="); json.strings(t.remove)
            if let notes = t.notes { word(" notes="); json.string(notes) }
            newline()
        case .runEnd(let e):
            kind("run_end")
            word("status="); word(e.status.description)
            word(" exit_code="); json.int(e.exitCode)
            word(" end_time="); time(e.endTime)
            if !e.message.isEmpty { word(" message="); json.string(e.message) }
            newline()
        case .checkpointRemoved(let c):
            kind("checkpoint_removed")
            word("time="); time(c.time)
            word(" path="); json.string(c.path)
            newline()
        case .console(let c):
            kind("console")
            word("stream="); word(c.stream.description)
            word(" time="); time(c.time)
            if c.dropped > 0 { word(" dropped="); json.int(c.dropped) }
            word(" text="); json.string(c.text)
            newline()
        case .unknown(let kind, let body):
            self.kind("unknown")
            word("type="); json.int(kind)
            word(" length="); json.int(body.count)
            newline()
        }
    }

    /// One line per row: `metrics    step=N time=T key=value …`.
    mutating func appendRows(_ block: MetricsBlock) {
        var cursors = [Int](repeating: 0, count: block.columns.count)
        var keys: [[UInt8]] = []
        for k in block.keys {
            let start = json.output.count
            json.output.append(UInt8(ascii: " "))
            key(k)
            json.output.append(UInt8(ascii: "="))
            keys.append(Array(json.output[start...]))
            json.output.removeSubrange(start...)
        }
        for i in 0..<block.rowCount {
            kind("metrics")
            word("step="); json.int(block.steps[i])
            word(" time="); time(block.times[i])
            for j in block.columns.indices where block.columns[j].has(row: i) {
                json.output.append(contentsOf: keys[j])
                double(block.columns[j].values[cursors[j]])
                cursors[j] += 1
            }
            newline()
        }
    }

    // MARK: - Pieces

    private mutating func kind(_ name: StaticString) {
        name.withUTF8Buffer { json.output.append(contentsOf: $0) }
        for _ in name.utf8CodeUnitCount..<max(11, name.utf8CodeUnitCount + 1) { json.output.append(UInt8(ascii: " ")) }
    }

    private mutating func word(_ s: String) {
        var s = s
        s.withUTF8 { json.output.append(contentsOf: $0) }
    }

    private mutating func newline() { json.output.append(UInt8(ascii: "\n")) }

    private mutating func optional(_ label: String, _ value: String) {
        guard !value.isEmpty else { return }
        word(label)
        json.string(value)
    }

    private mutating func time(_ micros: Int64) { word(Formatting.timestamp(micros)) }

    private mutating func double(_ d: Double) { Formatting.append(double: d, to: &json.output) }

    /// A key bare when it is plain (letters, digits, `_ . / - :`), else quoted as JSON.
    private mutating func key(_ k: String) {
        if Self.isPlain(k) { word(k) } else { json.string(k) }
    }

    static func isPlain(_ k: String) -> Bool {
        !k.isEmpty && k.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == 0x5F || c == 0x2E || c == 0x2F || c == 0x2D || c == 0x3A
        }
    }

    /// `key=value` for each entry (the last value of a repeated key), values as JSON.
    private mutating func pairs(_ entries: [Entry]) {
        for (i, e) in Value.collapsed(entries).enumerated() {
            if i > 0 { word(" ") }
            key(e.key)
            word("=")
            json.value(e.value)
        }
    }
}
