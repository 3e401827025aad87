// SPDX-License-Identifier: Apache-2.0
import RunLog

/// Everything `runlog stats` reports, accumulated record by record.
struct RunStats {
    struct HistogramSeries {
        var key: String
        var count = 0
        var firstStep: Int64 = 0
        var lastStep: Int64 = 0
        var bins = 0
    }

    struct CheckpointSeries {
        var name: String
        var count = 0
        var firstStep: Int64 = 0
        var latest: Checkpoint
        var bytes: UInt64 = 0
        /// Of `count`, how many files their writer removed on purpose (`checkpoint_removed`).
        var removed = 0
    }

    var files = 0
    var frames = 0
    /// Records per canonical kind name; metrics counted in rows.
    var kinds: [String: Int] = [:]
    var metricBlocks = 0
    var points = 0
    var series: [SeriesStats] = []
    private var seriesIndex: [String: Int] = [:]
    var histograms: [HistogramSeries] = []
    private var histogramIndex: [String: Int] = [:]
    var checkpoints: [CheckpointSeries] = []
    private var checkpointIndex: [String: Int] = [:]
    private var ledger = CheckpointLedger()
    /// Whether any checkpoint file was removed by its writer.
    var anyCheckpointRemoved: Bool { checkpoints.contains { $0.removed > 0 } }
    var runStart: RunStart?
    var runEnd: RunEnd?
    /// The latest environment record (spec §4.10).
    var environment: [Entry]?
    var firstTime: Int64?
    var lastTime: Int64?
    /// Bytes of the log files.
    var bytesOnDisk: Int64 = 0
    /// Frame payload bytes as stored, and once decoded.
    var payloadBytes: Int64 = 0
    var contentBytes: Int64 = 0
    var problems = 0
    /// Estimated bytes on disk of the metrics and of the histograms: each
    /// frame's bytes shared among its records in proportion to their decoded bytes.
    var metricsOnDisk = 0.0
    var histogramsOnDisk = 0.0

    mutating func add(header: FileHeader) {
        files += 1
        kinds["header", default: 0] += 1
        time(header.created)
    }

    mutating func add(_ record: Record) {
        switch record {
        case .metrics(let block):
            kinds["metrics", default: 0] += block.rowCount
            metricBlocks += 1
            if let t = block.times.first { time(t) }
            if let t = block.times.last { time(t) }
            for j in block.columns.indices {
                let key = block.keys[j]
                let index: Int
                if let known = seriesIndex[key] {
                    index = known
                } else {
                    index = series.count
                    seriesIndex[key] = index
                    series.append(SeriesStats(key: key))
                }
                series[index].add(block.columns[j], steps: block.steps)
                points += block.columns[j].values.count
            }
            return
        case .histogram(let h):
            time(h.time)
            let i = histogramIndex[h.key] ?? {
                histogramIndex[h.key] = histograms.count
                histograms.append(HistogramSeries(key: h.key, firstStep: h.step))
                return histograms.count - 1
            }()
            histograms[i].count += 1
            histograms[i].lastStep = h.step
            histograms[i].bins = h.counts.count
        case .checkpoint(let c):
            time(c.time)
            let i = checkpointIndex[c.name] ?? {
                checkpointIndex[c.name] = checkpoints.count
                checkpoints.append(CheckpointSeries(name: c.name, firstStep: c.step, latest: c))
                return checkpoints.count - 1
            }()
            checkpoints[i].count += 1
            checkpoints[i].latest = c
            checkpoints[i].bytes += c.size
            ledger.add(record)
        case .checkpointRemoved(let r):
            time(r.time)
            let before = ledger.isRetired(path: r.path)
            ledger.add(record)
            if !before, ledger.isRetired(path: r.path), let c = ledger.entries.last(where: { $0.checkpoint.path == r.path }),
               let i = checkpointIndex[c.checkpoint.name] {
                checkpoints[i].removed += 1
            }
        case .runStart(let s):
            if runStart == nil { runStart = s }
            time(s.startTime)
        case .runEnd(let e):
            runEnd = e
            time(e.endTime)
        case .environment(let entries):
            environment = Value.collapsed(entries)
        default:
            break
        }
        kinds[record.kindName, default: 0] += 1
    }

    /// Shares the frame's bytes on disk between metrics, histograms and the
    /// rest by their decoded sizes (the rest re-encoded: they are few and
    /// small; the metrics take what remains of the frame's content).
    mutating func share(_ frame: LogReader.DecodedFrame, contentBytes: Int64) {
        guard contentBytes > 0 else { return }
        var histograms = 0, others = 0
        for record in frame.records {
            switch record {
            case .metrics: continue
            case .histogram: histograms += record.encoded.count
            default: others += record.encoded.count
            }
        }
        let metrics = max(0, Int(contentBytes) - histograms - others)
        let perByte = Double(frame.size) / Double(contentBytes)
        metricsOnDisk += Double(metrics) * perByte
        histogramsOnDisk += Double(histograms) * perByte
    }

    private mutating func time(_ t: Int64) {
        guard t != 0 else { return }
        firstTime = Swift.min(firstTime ?? t, t)
        lastTime = Swift.max(lastTime ?? t, t)
    }

    var compressionRatio: Double? { payloadBytes > 0 ? Double(contentBytes) / Double(payloadBytes) : nil }
}
