// SPDX-License-Identifier: Apache-2.0
import Logging
import RunLayout

/// Keeps, per histogram key of a run, a picture of its distribution over
/// steps in MLflow (`histograms/<key>/distribution.svg`) and the same
/// points as JSON (`distribution.json`), made by `HistogramPicture` from a
/// `HistogramSummary` of every histogram of the key in the run's logs.
///
/// **Bounded uploads.** A key's picture is uploaded once the logs are read
/// to their end and it has new histograms, as its `RefreshSchedule` allows:
/// at once the first time, then at most once per interval, the interval
/// doubling from `firstInterval` (10 s) to 10 minutes after each upload; so
/// at most 7 + t / 600 s uploads in the first t seconds, and one more when
/// the run ends. Before the run's end status is set, every picture that lacks a
/// histogram is uploaded: the final pictures show every histogram.
///
/// **Crash-safe.** A picture is a replaceable artifact (the latest upload
/// wins) made from the logs alone, by a summary that depends only on the
/// sequence of histograms. The summaries live in memory, a bounded size per
/// key; a new syncd process reads the logs again from their start before it
/// uploads anything, so after a `kill -9` the pictures it uploads are the
/// ones a clean run would have made. Once all pictures are uploaded, the
/// logs' sizes are saved (`RunState.histogramPictures`): a run whose logs
/// have not grown since is not read again.
final class HistogramPictures {
    /// Frames read per call, so that a long log is read over several turns.
    static let framesPerCall = 64
    var firstInterval = RefreshSchedule.defaultFirst

    private struct Key {
        var summary = HistogramSummary()
        var dirty = false
        var schedule: RefreshSchedule
    }

    private var keys: [String: Key] = [:]
    /// Per log, where the next frame starts, and the size it had when last read to its end.
    private var offsets: [String: Int64] = [:]
    private var sizes: [String: Int64] = [:]
    private var started = false
    /// False while the summaries are not in memory: taken as done from the state, or released at the run's end.
    private var inMemory = true
    private var caughtUp = false
    /// Seconds until a picture waiting for its interval is due; nil when none waits.
    private(set) var nextDue: Double?

    /// Whether the logs are not read to their end yet: another turn reads on.
    var reading: Bool { inMemory && !caughtUp }

    /// Reads up to `framesPerCall` frames of the logs; once they are read to
    /// their end, uploads one due picture. True when it uploaded one or
    /// changed the state (to be saved), false otherwise.
    func advance(_ segments: [RunDirectory.Segment], state: inout RunState, client: MLflowClient, now: Double, ended: Bool,
                 logger: Logger) throws(SyncError) -> Bool {
        nextDue = nil
        let logs = segments.sorted { ($0.name.attempt, $0.name.rank, $0.name.segment) < ($1.name.attempt, $1.name.rank, $1.name.segment) }
        let current = Self.sizes(logs)
        if !started {
            started = true
            if !state.histogramPictures.isEmpty && state.histogramPictures == current {
                (sizes, inMemory) = (current, false)
            }
        }
        if !inMemory {
            guard sizes != current else { return false }
            (keys, offsets, sizes, inMemory) = ([:], [:], [:], true)  // grown since: read again from the start
        }
        guard try read(logs) else { return false }
        for (key, var k) in keys.sorted(by: { $0.key < $1.key }) where k.dirty {
            let wait = ended ? 0 : k.schedule.wait(now: now)
            if wait > 0 {
                nextDue = min(nextDue ?? wait, wait)
                continue
            }
            let run = state.mlflowRunID!, experiment = state.experimentID ?? "0"
            try client.putArtifact(experimentID: experiment, runID: run, path: HistogramPicture.svgPath(key),
                                   bytes: HistogramPicture.svg(key: key, k.summary))
            try client.putArtifact(experimentID: experiment, runID: run, path: HistogramPicture.jsonPath(key),
                                   bytes: HistogramPicture.json(key: key, k.summary))
            logger.debug("run \(state.runID): histogram picture \(HistogramPicture.svgPath(key)) (\(k.summary.added) histograms, \(k.summary.shown.count) shown)")
            k.schedule.uploaded(now: now)
            k.dirty = false
            keys[key] = k
            if !keys.values.contains(where: \.dirty) { state.histogramPictures = sizes }
            return true
        }
        guard ended, nextDue == nil else { return false }
        (keys, inMemory) = ([:], false)  // final: memory goes back until the logs grow
        guard state.histogramPictures != sizes else { return false }
        state.histogramPictures = sizes
        return true
    }

    /// Each log's size now.
    static func sizes(_ logs: [RunDirectory.Segment]) -> [String: Int64] {
        Dictionary(logs.map { ($0.name.fileName, RunSyncer.fileSize($0.path)) }, uniquingKeysWith: { a, _ in a })
    }

    /// Whether the pictures in MLflow show every histogram of `directory`'s
    /// logs as they are now, as `state` says (for `syncd clean`).
    static func final(_ directory: RunDirectory, state: RunState) -> Bool {
        !state.histogramPictures.isEmpty && state.histogramPictures == sizes((try? directory.segments()) ?? [])
    }

    /// Reads up to `framesPerCall` frames of the logs, in order, into the
    /// summaries; true when they are read to their end.
    private func read(_ logs: [RunDirectory.Segment]) throws(SyncError) -> Bool {
        var budget = Self.framesPerCall
        caughtUp = false
        for log in logs {
            let name = log.name.fileName
            let size = RunSyncer.fileSize(log.path)
            if sizes[name] == size { continue }
            let reader: LogReader
            do { reader = try LogReader(path: log.path, from: offsets[name] ?? 0) } catch {
                sizes[name] = size  // no header yet, or not a log: read again once it grows
                continue
            }
            let prefix = log.name.rank == 0 ? "" : "rank\(log.name.rank)/"
            while true {
                guard budget > 0 else { return false }
                let frame: LogReader.DecodedFrame?
                do { frame = try reader.next() } catch { throw SyncError(.io, "\(log.path): \(error)") }
                guard let frame else { break }
                budget -= 1
                for case .histogram(let h) in frame.records {
                    keys[prefix + h.key, default: Key(schedule: RefreshSchedule(first: firstInterval))].summary.add(h)
                    keys[prefix + h.key]!.dirty = true
                }
                offsets[name] = frame.end
            }
            sizes[name] = size
        }
        caughtUp = true
        return true
    }
}
