// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import RunLog

/// `dump --follow`: reads a log or run as it grows, like `tail -f`.
///
/// Polls every 100 ms from where it stopped (a frame boundary), so it costs
/// nothing between writes and works on network file systems too. New segments
/// and attempts of a run are picked up as they appear. It ends when every rank
/// of the latest attempt has written its run end, on SIGINT or SIGTERM, or,
/// for a run directory, when the run's writers are gone without a run end
/// (crashed) and nothing new arrived for a few seconds.
struct Follower {
    let input: LogInput
    var pollInterval: useconds_t = 100_000
    /// Seconds to go on reading once every rank has ended, until nothing new
    /// comes (console logs may still get the last lines a process printed).
    var lingerAfterEnd: Double = 0
    /// Seconds without new data after which a run's writers are checked for life.
    var idleBeforeLivenessCheck: Double = 3

    private struct OpenFile {
        var reader: LogReader?
        var ended = false
        var failed = false
    }

    init(input: LogInput) { self.input = input }

    func run<Sink: RecordSink>(printer: inout Sink) throws {
        StopSignals.install()
        defer { StopSignals.uninstall() }
        var files: [String: OpenFile] = [:]
        var current = input
        var idleSince = monotonicSeconds()
        while !StopSignals.requested {
            current = (try? current.refreshed()) ?? current
            var progressed = false
            for file in current.files {
                var state = files[file.path] ?? OpenFile()
                defer { files[file.path] = state }
                if state.failed { continue }
                if state.reader == nil {
                    do {
                        let reader = try LogReader(path: file.path)
                        reader.onDamage = { Diagnostics.warning("\(file.path): \($0)") }
                        state.reader = reader
                        printer.header(reader.header, file: file.path)
                        progressed = true
                    } catch let e as FormatError where e.code == .headerIncomplete {
                        continue  // its writer is creating it
                    } catch let e as FormatError {
                        if input.run == nil { throw CLIError.cannotRead(LogScan.message(for: e, path: file.path)) }
                        Diagnostics.warning(LogScan.message(for: e, path: file.path))
                        state.failed = true
                        continue
                    }
                }
                do {
                    while let frame = try state.reader!.next() {
                        progressed = true
                        for record in frame.records {
                            if case .runEnd = record { state.ended = true }
                            printer.record(record)
                        }
                    }
                } catch let e as FormatError {
                    throw CLIError.cannotRead(e.description)
                }
            }
            printer.finish()
            if finished(current, files) {
                if progressed { idleSince = monotonicSeconds() }
                if monotonicSeconds() - idleSince >= lingerAfterEnd { return }
            } else if progressed {
                idleSince = monotonicSeconds()
            } else if let run = current.run, monotonicSeconds() - idleSince > idleBeforeLivenessCheck {
                if let reason = writersGone(run, current, files) {
                    Diagnostics.warning("\(run.path): stopped following: \(reason)")
                    return
                }
                idleSince = monotonicSeconds()
            }
            usleep(pollInterval)
        }
        printer.finish()
    }

    /// Whether every rank of the latest attempt has written its run end.
    private func finished(_ input: LogInput, _ files: [String: OpenFile]) -> Bool {
        guard !input.files.isEmpty else { return false }
        guard input.run != nil else { return files[input.files[0].path]?.ended ?? false }
        let latest = input.files.compactMap { $0.segment?.attempt }.max()
        var endedByRank: [UInt64: Bool] = [:]
        for file in input.files where file.segment?.attempt == latest {
            let rank = file.segment!.rank
            endedByRank[rank] = (endedByRank[rank] ?? false) || (files[file.path]?.ended ?? false)
        }
        return !endedByRank.isEmpty && endedByRank.values.allSatisfy { $0 }
    }

    /// Why the writers of the latest attempt are all gone without a run end, or nil while any lives.
    private func writersGone(_ run: RunDirectory, _ input: LogInput, _ files: [String: OpenFile]) -> String? {
        guard let latest = input.files.compactMap({ $0.segment?.attempt }).max() else { return nil }
        var reasons: [String] = []
        var lastOfRank: [UInt64: LogInput.File] = [:]
        for file in input.files where file.segment?.attempt == latest {
            let rank = file.segment!.rank
            if let known = lastOfRank[rank], known.segment!.segment > file.segment!.segment { continue }
            lastOfRank[rank] = file
        }
        for (rank, file) in lastOfRank.sorted(by: { $0.key < $1.key }) {
            if files[file.path]?.ended == true { continue }
            switch LivenessCheck().check(livePath: run.livePath(attempt: latest, rank: rank), logPath: file.path) {
            case .alive: return nil
            case .gone(let why): reasons.append("attempt \(latest) rank \(rank) crashed (\(why))")
            }
        }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }
}

/// Where `Follower` sends what it reads.
protocol RecordSink {
    /// A file was opened.
    mutating func header(_ h: FileHeader, file: String)
    mutating func record(_ record: Record)
    /// The end of a pass over the files: write out what is buffered.
    mutating func finish()
}

extension RecordPrinter: RecordSink {}

/// Seconds on a clock that never jumps.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
