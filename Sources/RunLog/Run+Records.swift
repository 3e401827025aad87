// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Histograms, checkpoints, config, summary, tags and notes.
extension Run {
    // MARK: - Histograms

    /// Logs a histogram of `values` with `bins` uniform bins between their
    /// smallest and largest finite value; count, min, max, sum, sum of
    /// squares and the number of NaN/infinite values are recorded too.
    /// `step` nil means the step of the latest metrics row. The summary is
    /// computed on the caller's thread (two passes over `values`).
    public func logHistogram(_ key: String, values: [Double], bins: Int = 64, step: Int64? = nil) {
        guard let pipeline else { return }
        let h = values.withUnsafeBufferPointer {
            HistogramBuilder.make(key: key, step: step ?? pipeline.currentStep, time: Monitor.wallMicros(), values: $0, bins: bins)
        }
        append(histogram: h)
    }

    /// Logs a histogram of `values`; see `logHistogram(_:values:bins:step:)`.
    @_disfavoredOverload  // an array literal means [Double]
    public func logHistogram(_ key: String, values: [Float], bins: Int = 64, step: Int64? = nil) {
        guard let pipeline else { return }
        let h = values.withUnsafeBufferPointer {
            HistogramBuilder.make(key: key, step: step ?? pipeline.currentStep, time: Monitor.wallMicros(), values: $0, bins: bins)
        }
        append(histogram: h)
    }

    /// Logs precomputed counts of `counts.count` uniform bins over `range`.
    public func logHistogram(_ key: String, counts: [UInt64], range: ClosedRange<Double>, step: Int64? = nil) {
        guard let pipeline else { return }
        var h = Histogram(
            key: key, step: step ?? pipeline.currentStep, time: Monitor.wallMicros(),
            bins: .uniform(low: range.lowerBound, high: range.upperBound), counts: counts)
        h.count = counts.reduce(0, &+)
        append(histogram: h)
    }

    /// Logs precomputed counts of explicit bins: `edges` holds `counts.count + 1` ascending edges.
    public func logHistogram(_ key: String, counts: [UInt64], edges: [Double], step: Int64? = nil) {
        guard let pipeline else { return }
        guard edges.count == counts.count + 1 else {
            pipeline.report("runlog: histogram '\(key)' ignored: \(edges.count) edges for \(counts.count) bins (need one more)")
            return
        }
        var h = Histogram(key: key, step: step ?? pipeline.currentStep, time: Monitor.wallMicros(), bins: .edges(edges), counts: counts)
        h.count = counts.reduce(0, &+)
        append(histogram: h)
    }

    private func append(histogram h: Histogram) {
        guard let pipeline else { return }
        guard !h.key.isEmpty, !h.counts.isEmpty else {
            pipeline.report("runlog: histogram ignored: it needs a non-empty key and at least one bin")
            return
        }
        append(.histogram(h), pipeline)
    }

    /// Appends a record, refusing one over the format's 16 MiB limit (reported).
    private func append(_ record: Record, _ pipeline: Pipeline) {
        let size = record.encoded.count
        guard size <= Frame.maxContentLength else {
            pipeline.report("runlog: \(record.kindName) record of \(size) bytes ignored: records are limited to 16 MiB")
            return
        }
        pipeline.append(record: record)
    }

    // MARK: - Checkpoints

    /// Copies `file` into `checkpoints/<name>/<step>-<file name>` of the run
    /// directory, atomically (spec/run-directory.md §6), then records it with
    /// its size and SHA-256 and syncs the log. Blocks while it copies.
    /// `step` nil means the step of the latest metrics row.
    /// Returns the record written, or nil when disabled.
    /// - Throws: `RunError` when the file cannot be read, copied or recorded.
    @discardableResult
    public func saveCheckpoint(
        name: String, file: URL, step: Int64? = nil, aliases: [String] = [], metadata: [String: Value] = [:]
    ) throws -> Checkpoint? {
        guard let pipeline, let checkpoints else { return nil }
        guard !name.isEmpty else { throw RunError(.invalidArgument, "a checkpoint needs a non-empty name") }
        if let e = RunError.tooDeep(Run.entries(metadata), in: "checkpoint metadata") { throw e }
        let step = step ?? pipeline.currentStep
        let copy = try checkpoints.store(file: file.path, name: name, step: step)
        var record = Checkpoint(name: name, step: step, time: Monitor.wallMicros(), path: copy.path, size: copy.size, sha256: copy.sha256)
        record.aliases = aliases
        record.metadata = Run.entries(metadata)
        pipeline.append(record: .checkpoint(record))
        try pipeline.flush()
        return record
    }

    /// Deletes the file of a checkpoint this run saved (its record's `path`,
    /// relative to the run directory), e.g. one a keep-the-last-n policy
    /// retires. The `checkpoint_removed` record is made durable first, so
    /// readers (`runlog verify`, syncd) know the file was retired, not lost.
    /// A file already gone is not an error. Does nothing when disabled.
    /// - Throws: `RunError` (`.invalidArgument`) for a path outside the
    ///   run's `checkpoints/`, `.io` when the record cannot be made durable
    ///   (the file is then kept) or the file cannot be deleted.
    public func removeCheckpoint(path: String) throws {
        guard let pipeline, let checkpoints else { return }
        guard Checkpoint.isValidPath(path), path.hasPrefix("checkpoints/") else {
            throw RunError(.invalidArgument, "\(path): not a checkpoint path of this run (checkpoints/…)")
        }
        pipeline.append(record: .checkpointRemoved(CheckpointRemoved(path: path, time: Monitor.wallMicros())))
        try pipeline.flush()
        try checkpoints.remove(path: path)
    }

    // MARK: - Config, summary, tags

    /// The run's config: read it, or change it (changes merge by the rule of spec `format.md` §4.0).
    public var config: Values { Values(run: self, kind: .config) }

    /// The run's summary: `run.summary["best_acc"] = 0.98`.
    public var summary: Values { Values(run: self, kind: .summary) }

    /// The run's config or summary as this process has written it.
    public struct Values: Sendable {
        enum Kind { case config, summary }
        let run: Run
        let kind: Kind

        /// All entries, in the order keys first appeared.
        public var entries: [Entry] { kind == .config ? run.metadata.currentConfig : run.metadata.currentSummary }

        /// The value of `key`; setting writes an update (nil writes `null`: nothing is ever deleted).
        public subscript(key: String) -> Value? {
            get { entries.first { $0.key == key }?.value }
            nonmutating set { update([Entry(key, newValue ?? .null)]) }
        }

        /// Merges `values` (in key order) and writes them as one record.
        public func update(_ values: [String: Value]) { update(Run.entries(values)) }

        /// Merges `entries` and writes them as one record. Entries of which
        /// one nests deeper than `Value.maxDepth` levels are refused whole:
        /// nothing is written, and the error goes to `RunOptions.onError`.
        public func update(_ entries: [Entry]) {
            guard let pipeline = run.pipeline, !entries.isEmpty else { return }
            if let e = RunError.tooDeep(entries, in: kind == .config ? "config" : "summary") {
                pipeline.report(e.message + "; not written")
                return
            }
            switch kind {
            case .config:
                run.metadata.merge(config: entries)
                run.append(.config(entries), pipeline)
            case .summary:
                run.metadata.merge(summary: entries)
                run.append(.summary(entries), pipeline)
            }
        }
    }

    /// The run's tags, as this process has set them.
    public var tags: [String] { metadata.currentTags }

    /// The run's notes, as this process has set them.
    public var notes: String { metadata.currentNotes }

    /// Adds tags.
    public func addTags(_ tags: String...) { updateTags(add: tags, remove: []) }

    /// Removes tags.
    public func removeTags(_ tags: String...) { updateTags(add: [], remove: tags) }

    /// Adds, then removes tags, and replaces the notes when `notes` is not nil.
    public func updateTags(add: [String], remove: [String], notes: String? = nil) {
        guard let pipeline, !(add.isEmpty && remove.isEmpty && notes == nil) else { return }
        metadata.update(add: add, remove: remove, notes: notes)
        append(.tags(TagsUpdate(add: add, remove: remove, notes: notes)), pipeline)
    }

    /// Replaces the run's notes.
    public func setNotes(_ notes: String) { updateTags(add: [], remove: [], notes: notes) }
}
