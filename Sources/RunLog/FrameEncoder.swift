// SPDX-License-Identifier: Apache-2.0
/// Turns batches of logged records into encoded frames whose content stays
/// at or under the frame target (spec `format.md` §5): metrics rows become
/// columnar blocks, other records go in between in the order they were logged,
/// and a record larger than the target goes alone in its frame.
struct FrameEncoder {
    let target: Int
    let codec: Frame.Codec
    private let compressor: ZstdCompressor
    private var content: [UInt8] = []
    private var metrics = MetricsAccumulator()

    init(target: Int, compressionLevel: Int32, codec: Frame.Codec = .zstd) {
        self.target = min(max(1024, target), Frame.maxContentLength)
        self.codec = codec
        self.compressor = ZstdCompressor(level: compressionLevel)
        content.reserveCapacity(self.target + 1024)
    }

    /// Encodes `batch` into frames, each handed to `emit` as soon as it is complete.
    /// Content that does not fill a frame is emitted at the end too: a batch
    /// never leaves anything behind. `names` maps key ids to keys.
    /// Throws only for content the format refuses (a record over 16 MiB).
    mutating func encode(_ batch: Batch, names: [String], emit: ([UInt8]) throws -> Void) throws {
        var nextRecord = 0
        let rows = batch.steps.count
        for row in 0...rows {
            while nextRecord < batch.records.count, batch.records[nextRecord].beforeRow == row {
                try add(record: batch.records[nextRecord].bytes, batch, names, emit)
                nextRecord += 1
            }
            guard row < rows else { break }
            if content.count + metrics.boundAdding(row: row, of: batch, names: names) > target, !(content.isEmpty && metrics.isEmpty) {
                closeMetrics(batch, names)
                try emitFrame(emit)
            }
            metrics.add(row: row, of: batch, names: names)
        }
        closeMetrics(batch, names)
        try emitFrame(emit)
    }

    private mutating func add(record: [UInt8], _ batch: Batch, _ names: [String], _ emit: ([UInt8]) throws -> Void) throws {
        closeMetrics(batch, names)
        if !content.isEmpty, content.count + record.count > target { try emitFrame(emit) }
        content.append(contentsOf: record)
    }

    private mutating func closeMetrics(_ batch: Batch, _ names: [String]) {
        if let block = metrics.build(from: batch, names: names) { Record.metrics(block).encode(into: &content) }
    }

    private mutating func emitFrame(_ emit: ([UInt8]) throws -> Void) throws {
        guard !content.isEmpty else { return }
        defer { content.removeAll(keepingCapacity: true) }
        try emit(try Frame.encode(content: content, codec: codec, compressor: compressor))
    }
}
