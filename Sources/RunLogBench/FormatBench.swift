// SPDX-License-Identifier: Apache-2.0
import RunLog
import SeededRandom

/// The format alone: encode + compress and decode workload A in memory,
/// bytes per point, and the size of histograms.
func formatBench(quick: Bool) throws {
    let steps = quick ? 20_000 : 200_000
    let reps = quick ? 3 : 5
    let w = WorkloadA(steps: steps)
    let points = Double(steps * 4)
    print("format: workload A, \(figure(Double(steps))) steps × 4 float64 scalars, frames ≤ 64 KiB, medians of \(reps)")

    for level: Int32 in [1, 3] {
        var file: [UInt8] = []
        let encode = try Clock.measure(repetitions: reps) { file = try encodeWorkload(w, level: level) }
        var decodedPoints = 0
        let decode = try Clock.measure(repetitions: reps) { decodedPoints = try decodePoints(file) }
        precondition(decodedPoints == steps * 4, "decoded \(decodedPoints) points")
        print(
            "  zstd \(level): \(figure(Double(file.count) / points, decimals: 2)) bytes/point;"
                + " encode+compress \(figure(points / encode.median / 1e6, decimals: 1)) M points/s"
                + " (\(figure(points / encode.max / 1e6, decimals: 1))–\(figure(points / encode.min / 1e6, decimals: 1)));"
                + " decode \(figure(points / decode.median / 1e6, decimals: 1)) M points/s"
                + " (\(figure(points / decode.max / 1e6, decimals: 1))–\(figure(points / decode.min / 1e6, decimals: 1)))")
    }

    // Histograms: 64 uniform bins over 100,000 float32 values.
    let count = quick ? 200 : 2_000
    // Weights that drift and get noisier as "training" goes on, so that no two
    // histograms are alike.
    let base = weights(count: 100_000, seed: 3)
    var values = base
    var rng = SplitMix64(seed: 9)
    var hists: [Histogram] = []
    var binning = 0.0
    for i in 0..<count {
        let scale = Float(1 + Double(i) / Double(count))
        let noise = Float(0.002 + 0.01 * Double(i) / Double(count))
        for j in values.indices { values[j] = base[j] * scale + noise * Float(rng.uniform() - 0.5) }
        let t = Clock.cpu()
        hists.append(histogram64(values, key: "grads/fc1.weight", step: Int64(i)))
        binning += Clock.cpu() - t
    }
    let compressor = ZstdCompressor(level: 1)
    var alone = 0
    var packed = 0
    var content: [UInt8] = []
    for h in hists {
        alone += try Frame.encode(records: [.histogram(h)], compressor: compressor).count
        Record.histogram(h).encode(into: &content)
        if content.count > Frame.defaultTarget {
            packed += try Frame.encode(content: content, compressor: compressor).count
            content.removeAll(keepingCapacity: true)
        }
    }
    if !content.isEmpty { packed += try Frame.encode(content: content, compressor: compressor).count }
    print(
        "  histogram (64 bins, 100,000 float32): \(figure(Double(alone) / Double(count), decimals: 0)) bytes alone in a frame,"
            + " \(figure(Double(packed) / Double(count), decimals: 0)) bytes packed in 64 KiB frames;"
            + " binning \(figure(binning / Double(count) * 1e3, decimals: 2)) ms each")
}

/// Encodes workload A as a log in memory, one frame per ≤ 64 KiB of content.
func encodeWorkload(_ w: WorkloadA, level: Int32) throws -> [UInt8] {
    let compressor = ZstdCompressor(level: level)
    var out = try FileHeader(runID: "bench", created: 0, writer: "runlog-bench").encoded()
    let rowsPerFrame = Frame.defaultTarget / 36
    var i = 0
    while i < w.steps {
        let n = min(rowsPerFrame, w.steps - i)
        let r = i..<(i + n)
        let block = MetricsBlock(
            keys: WorkloadA.keys, steps: r.map { Int64($0) }, times: r.map { 1_764_000_000_000_000 + Int64($0) * 150_000 },
            values: [Array(w.loss[r]), Array(w.accuracy[r]), Array(w.lr[r]), Array(w.gradNorm[r])])
        var content: [UInt8] = []
        Record.metrics(block).encode(into: &content)
        out += try Frame.encode(content: content, compressor: compressor)
        i += n
    }
    return out
}

func decodePoints(_ bytes: [UInt8]) throws -> Int {
    let reader = try LogReader(source: MemorySource(bytes))
    var points = 0
    while let frame = try reader.next() {
        for case .metrics(let b) in frame.records { points += b.pointCount }
    }
    return points
}

/// A 64-bin uniform histogram of `values` with its statistics.
func histogram64(_ values: [Float], key: String, step: Int64) -> Histogram {
    var lo = Float.infinity, hi = -Float.infinity
    var sum = 0.0, sumSquares = 0.0
    for v in values {
        lo = min(lo, v)
        hi = max(hi, v)
        sum += Double(v)
        sumSquares += Double(v) * Double(v)
    }
    var counts = [UInt64](repeating: 0, count: 64)
    let scale = Float(64) / (hi - lo)
    for v in values { counts[min(63, Int((v - lo) * scale))] += 1 }
    var h = Histogram(key: key, step: step, time: 0, bins: .uniform(low: Double(lo), high: Double(hi)), counts: counts)
    h.count = UInt64(values.count)
    h.min = Double(lo)
    h.max = Double(hi)
    h.sum = sum
    h.sumSquares = sumSquares
    return h
}
