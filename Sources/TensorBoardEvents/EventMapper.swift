// SPDX-License-Identifier: Apache-2.0
import RunLogFormat

/// Turns the records of one TensorBoard run (one runlog run, one rank) into
/// events, in record order:
///
/// | record | events |
/// |--------|--------|
/// | metrics | a scalar per point, tag = key, with the logged step and time |
/// | histogram | a `HistogramProto`, tag = key |
/// | config | HParams `session_start_info` (nested keys joined with `.`), and text `runlog/config` |
/// | summary | numbers and booleans as scalars `summary/<key>` at the last step seen; the whole summary as text `runlog/summary` |
/// | run start | its tags and notes as text `runlog/tags`, `runlog/notes`; `runlog/run`: host, attempt, command |
/// | tags | text `runlog/tags` (added and removed), `runlog/notes` |
/// | checkpoint | text `runlog/checkpoints` |
/// | run end | text `runlog/run`: status, exit code, message |
/// | console | text `runlog/console/stdout`, `…/stderr` (a code block), at its own time and the last step |
///
/// Records without a step or time of their own (config, summary, tags) take
/// those of the last record that had them (`context`). Keys TensorBoard
/// reserves (`_hparams_/…`) get a leading `_`. TensorBoard shows one kind of
/// data per tag (and fails to read a run's scalars when a tag holds both), so
/// a key logged as a metric after it was a histogram becomes `<key>/metric`,
/// and one logged as a histogram after it was a metric `<key>/histogram`;
/// `onClash` is told once per such key.
public struct EventMapper {
    /// What the mapping of a record depends on besides the record.
    public struct Context: Codable, Equatable, Sendable {
        public var step: Int64 = 0
        /// µs since the epoch.
        public var time: Int64 = 0
        /// Keys seen as metrics and as histograms (TensorBoard shows one kind per tag).
        public var metricKeys: Set<String> = []
        public var histogramKeys: Set<String> = []

        public init(step: Int64 = 0, time: Int64 = 0) {
            self.step = step
            self.time = time
        }

        mutating func moved(step: Int64, time: Int64) {
            self.step = step
            self.time = time
        }
    }

    public var encoder = EventEncoder()
    public var context: Context
    /// Called with a key the first time it is logged as both a metric and a histogram.
    public var onClash: ((String) -> Void)?

    public init(context: Context = Context()) { self.context = context }

    /// The number of items of a record: one per point for metrics, one otherwise.
    /// Items are the unit a cursor counts within a record.
    public static func itemCount(_ record: Record) -> Int {
        if case .metrics(let block) = record { return block.pointCount }
        return 1
    }

    /// Encodes items `from..<from+limit` of `record` (clamped); returns how many it encoded.
    @discardableResult
    public mutating func add(_ record: Record, from: Int = 0, limit: Int = .max) -> Int {
        switch record {
        case .metrics(let block):
            return add(block, from: from, limit: limit)
        default:
            guard from == 0, limit > 0 else { return 0 }
            addWhole(record)
            return 1
        }
    }

    private mutating func add(_ block: MetricsBlock, from: Int, limit: Int) -> Int {
        var prefixes = [EventEncoder.ScalarTag?](repeating: nil, count: block.keys.count)
        var cursors = [Int](repeating: 0, count: block.columns.count)
        var item = 0
        let end = limit == .max ? Int.max : from + limit
        rows: for i in 0..<block.rowCount {
            let step = block.steps[i]
            let wall = EventEncoder.seconds(block.times[i])
            for j in block.columns.indices where block.columns[j].has(row: i) {
                defer { cursors[j] += 1; item += 1 }
                if item < from { continue }
                if item >= end { break rows }
                if prefixes[j] == nil { prefixes[j] = encoder.scalarTag(metricTag(block.keys[j])) }
                encoder.scalar(prefixes[j]!, step: step, wallTime: wall, value: block.columns[j].values[cursors[j]])
                context.moved(step: step, time: block.times[i])
            }
        }
        return max(0, min(item, end) - from)
    }

    private mutating func addWhole(_ record: Record) {
        switch record {
        case .runStart(let s):
            context.moved(step: context.step, time: s.startTime)
            if !s.tags.isEmpty { text("runlog/tags", "tags: " + s.tags.map(Self.code).joined(separator: ", ")) }
            if !s.notes.isEmpty { text("runlog/notes", s.notes) }
            var lines = ["attempt \(s.attempt) started on `\(s.host)`" + (s.jobID.isEmpty ? "" : ", job `\(s.jobID)`")]
            if !s.argv.isEmpty { lines.append("command: " + Self.code(s.argv.joined(separator: " "))) }
            text("runlog/run", lines.joined(separator: "\n\n"))
        case .config(let entries):
            let flat = Value.flattened(entries)
            encoder.hparams(flat.map { ($0.0, Self.hparam($0.1)) }, startTime: EventEncoder.seconds(context.time), step: context.step)
            text("runlog/config", Self.table(flat))
        case .summary(let entries):
            let flat = Value.flattened(entries)
            for (k, v) in flat {
                let number: Double
                switch v {
                case .int(let i): number = Double(i)
                case .double(let d): number = d
                case .bool(let b): number = b ? 1 : 0
                default: continue
                }
                encoder.scalar(tag: Self.tag("summary/" + k), step: context.step, wallTime: wall, value: number)
            }
            text("runlog/summary", Self.table(flat))
        case .environment(let entries):
            text("runlog/environment", Self.table(Value.flattened(entries)))
        case .histogram(let h):
            encoder.histogram(tag: histogramTag(h.key), h)
            context.moved(step: h.step, time: h.time)
        case .checkpoint(let c):
            context.moved(step: c.step, time: c.time)
            let aliases = c.aliases.isEmpty ? "" : " (" + c.aliases.map(Self.code).joined(separator: ", ") + ")"
            text("runlog/checkpoints", "\(Self.code(c.name))\(aliases): \(Self.code(c.path)), \(c.size) bytes")
        case .tags(let t):
            var parts: [String] = []
            if !t.add.isEmpty { parts.append("added: " + t.add.map(Self.code).joined(separator: ", ")) }
            if !t.remove.isEmpty { parts.append("removed: " + t.remove.map(Self.code).joined(separator: ", ")) }
            if !parts.isEmpty { text("runlog/tags", parts.joined(separator: "; ")) }
            if let notes = t.notes { text("runlog/notes", notes) }
        case .runEnd(let e):
            context.moved(step: context.step, time: e.endTime)
            text("runlog/run", "\(e.status) (exit code \(e.exitCode))" + (e.message.isEmpty ? "" : ": " + e.message))
        case .checkpointRemoved(let r):
            context.moved(step: context.step, time: r.time)
            text("runlog/checkpoints", "removed by the writer: \(Self.code(r.path))")
        case .console(let c):
            // Indented: a Markdown code block whatever the text holds.
            var body = c.dropped > 0 ? "    [\(c.dropped) bytes dropped]\n" : ""
            body += c.text.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }.joined(separator: "\n")
            encoder.text(tag: "runlog/console/\(c.stream)", step: context.step, wallTime: EventEncoder.seconds(c.time), body)
        case .metrics, .unknown:
            break
        }
    }

    private var wall: Double { EventEncoder.seconds(context.time) }

    private mutating func text(_ tag: String, _ s: String) {
        encoder.text(tag: tag, step: context.step, wallTime: wall, s)
    }

    private mutating func metricTag(_ key: String) -> String {
        Self.tag(key, kind: "metric", mine: &context.metricKeys, other: context.histogramKeys, onClash: onClash)
    }

    private mutating func histogramTag(_ key: String) -> String {
        Self.tag(key, kind: "histogram", mine: &context.histogramKeys, other: context.metricKeys, onClash: onClash)
    }

    /// The tag of a key of one kind: `<key>/<kind>` when the other kind had the key first.
    private static func tag(
        _ key: String, kind: String, mine: inout Set<String>, other: Set<String>, onClash: ((String) -> Void)?
    ) -> String {
        let first = mine.insert(key).inserted
        guard other.contains(key) else { return tag(key) }
        if first { onClash?(key) }
        return tag(key + "/" + kind)
    }

    /// The TensorBoard tag of a key: the key, with a `_` before one TensorBoard reserves.
    public static func tag(_ key: String) -> String {
        key.hasPrefix("_hparams_/") ? "_" + key : key
    }

    static func hparam(_ v: Value) -> EventEncoder.HParam {
        switch v {
        case .int(let i): return .number(Double(i))
        case .double(let d): return .number(d)
        case .bool(let b): return .bool(b)
        case .string(let s): return .string(s)
        default: return .string(json(v))
        }
    }

    static func json(_ v: Value) -> String {
        var j = CanonicalJSON(capacity: 64)
        j.value(v)
        return String(decoding: j.output, as: UTF8.self)
    }

    /// A Markdown table of keys and values.
    static func table(_ flat: [(key: String, value: Value)]) -> String {
        func cell(_ s: String) -> String {
            s.replacing("|", with: "\\|").replacing("\n", with: " ")
        }
        var lines = ["| key | value |", "|-----|-------|"]
        for (k, v) in flat {
            let text: String
            if case .string(let s) = v { text = s } else { text = json(v) }
            lines.append("| \(cell(k)) | \(cell(text)) |")
        }
        return lines.joined(separator: "\n")
    }

    static func code(_ s: String) -> String { "`" + s.replacing("`", with: "'") + "`" }
}
