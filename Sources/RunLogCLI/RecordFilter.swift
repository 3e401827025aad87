// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RunLog

/// An inclusive range of steps, written `A:B`, `A:`, `:B` or `A`.
struct StepRange: ExpressibleByArgument, Equatable {
    var lower: Int64
    var upper: Int64

    init(lower: Int64 = .min, upper: Int64 = .max) {
        self.lower = lower
        self.upper = upper
    }

    init?(argument: String) {
        let parts = argument.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        func bound(_ s: Substring, _ open: Int64) -> Int64? { s.isEmpty ? open : Int64(s) }
        if parts.count == 1 {
            guard let n = Int64(parts[0]) else { return nil }
            self.init(lower: n, upper: n)
        } else {
            guard let a = bound(parts[0], .min), let b = bound(parts[1], .max), a <= b else { return nil }
            self.init(lower: a, upper: b)
        }
    }

    static var defaultCompletionKind: CompletionKind { .default }

    @inline(__always)
    func contains(_ step: Int64) -> Bool { step >= lower && step <= upper }
}

/// Which records to show: `--kind`, `--key` (glob) and `--steps`.
///
/// `--key` keeps the metrics values and histograms whose key matches one of
/// the globs; `--steps` keeps the metrics rows, histograms and checkpoints
/// whose step is in range. Either one leaves out the records that have no key
/// (or no step): headers, config, tags, summary, run start and end, unless
/// `--kind` names their kind (`--kind metrics,run_end --key loss` keeps the run end).
struct RecordFilter {
    static let kindNames = ["header", "run_start", "config", "metrics", "histogram", "checkpoint", "checkpoint_removed", "tags", "summary", "run_end", "console", "environment", "unknown"]

    var kinds: Set<String>?
    var keyGlobs: [String] = []
    var steps: StepRange?
    private var keyMatches: [String: Bool] = [:]

    init(kinds: [String], keyGlobs: [String], steps: StepRange?) throws {
        var set = Set<String>()
        for k in kinds.flatMap({ $0.split(separator: ",").map(String.init) }) {
            guard Self.kindNames.contains(k) else {
                throw ValidationError("unknown kind '\(k)'; kinds are \(Self.kindNames.joined(separator: ", "))")
            }
            set.insert(k)
        }
        self.kinds = set.isEmpty ? nil : set
        self.keyGlobs = keyGlobs
        self.steps = steps
    }

    /// Whether the filter keeps everything.
    var isEmpty: Bool { kinds == nil && keyGlobs.isEmpty && steps == nil }

    private var narrowed: Bool { !keyGlobs.isEmpty || steps != nil }

    func allowsKind(_ name: String) -> Bool { kinds?.contains(name) ?? true }

    /// Whether `--kind` names this kind.
    private func named(_ name: String) -> Bool { kinds?.contains(name) ?? false }

    /// Whether file headers are shown.
    var keepsHeaders: Bool { allowsKind("header") && (!narrowed || named("header")) }

    mutating func matches(key: String) -> Bool {
        guard !keyGlobs.isEmpty else { return true }
        if let known = keyMatches[key] { return known }
        let hit = keyGlobs.contains { fnmatch($0, key, 0) == 0 }
        if keyMatches.count < 100_000 { keyMatches[key] = hit }
        return hit
    }

    /// The record as it should be shown, or nil to leave it out. A metrics
    /// block comes back with only the matching values and rows.
    mutating func apply(_ record: Record) -> Record? {
        guard allowsKind(record.kindName) else { return nil }
        switch record {
        case .metrics(let block):
            guard narrowed else { return record }
            return filter(block).map(Record.metrics)
        case .histogram(let h):
            guard matches(key: h.key), steps?.contains(h.step) ?? true else { return nil }
            return record
        case .checkpoint(let c):
            guard keyGlobs.isEmpty || named("checkpoint"), steps?.contains(c.step) ?? true else { return nil }
            return record
        default:
            return narrowed && !named(record.kindName) ? nil : record
        }
    }

    /// The rows and values of `block` that pass `--key` and `--steps`; nil when none do.
    mutating func filter(_ block: MetricsBlock) -> MetricsBlock? {
        let keep = block.keys.map { matches(key: $0) }
        let rows = block.rowCount
        var rowKept = [Bool](repeating: true, count: rows)
        if let steps { for i in 0..<rows { rowKept[i] = steps.contains(block.steps[i]) } }
        if keep.allSatisfy({ $0 }) && rowKept.allSatisfy({ $0 }) { return block }
        // Rows that keep at least one value.
        var hasValue = [Bool](repeating: false, count: rows)
        for j in block.columns.indices where keep[j] {
            for i in 0..<rows where rowKept[i] && block.columns[j].has(row: i) { hasValue[i] = true }
        }
        let newRows = (0..<rows).filter { hasValue[$0] }
        guard !newRows.isEmpty else { return nil }
        var keys: [String] = []
        var columns: [MetricsBlock.Column] = []
        for j in block.columns.indices where keep[j] {
            let column = block.columns[j]
            var values: [Double] = []
            var bitmap = [UInt8](repeating: 0, count: (newRows.count + 7) / 8)
            var cursor = 0
            var out = 0
            for i in 0..<rows {
                guard column.has(row: i) else { continue }
                defer { cursor += 1 }
                guard hasValue[i] else { continue }
                while newRows[out] != i { out += 1 }
                values.append(column.values[cursor])
                bitmap[out >> 3] |= 1 << UInt8(out & 7)
            }
            guard !values.isEmpty else { continue }
            keys.append(block.keys[j])
            columns.append(MetricsBlock.Column(values: values, presence: values.count == newRows.count ? nil : bitmap))
        }
        return MetricsBlock(
            keys: keys, steps: newRows.map { block.steps[$0] }, times: newRows.map { block.times[$0] }, columns: columns)
    }
}
