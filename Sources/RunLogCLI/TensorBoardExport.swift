// SPDX-License-Identifier: Apache-2.0
import RunLog
import TensorBoardEvents

/// `runlog export --tensorboard OUTDIR PATH…`: every run and rank of the
/// inputs as a TensorBoard run under OUTDIR, laid out and mapped as
/// `TensorBoardLayout` and `EventMapper` say. An existing export of the same
/// run is replaced.
struct TensorBoardExport {
    let outdir: String
    let paths: [String]
    /// Where run ids among `paths` are looked up.
    let runs: RunArguments

    /// One TensorBoard run being written.
    private final class Target {
        let file: EventFile
        var mapper = EventMapper()

        init(file: EventFile) {
            self.file = file
            let path = file.path
            mapper.onClash = { key in
                Diagnostics.warning("\(path): key \"\(key)\" is both a metric and a histogram: the later kind is written as \"\(key)/metric\" or \"\(key)/histogram\"")
            }
        }

        func flush() throws {
            try file.append(mapper.encoder.bytes)
            mapper.encoder.removeBytes()
        }
    }

    func run() throws {
        let inputs = try paths.map { try runs.resolve($0) }
        let total = inputs.flatMap(\.files).reduce(Int64(0)) { $0 + (LogInput.fileSize($1.path) ?? 0) }
        let progress = Progress(total: Int(total), enabled: Diagnostics.isTerminal) {
            "exported \(Formatting.bytes(Int64($0))) of \(Formatting.bytes(Int64($1)))"
        }
        var done: Int64 = 0
        var targets: [String: Target] = [:]
        var damaged = false
        do {
            for input in inputs {
                let scan = LogScan.reportingToStandardError()
                var header: FileHeader?
                var fileDone: Int64 = 0
                try scan.run(
                    input,
                    header: { _, reader in
                        header = reader.header
                        fileDone = 0
                    },
                    frame: { _, frame in
                        guard let header else { return }
                        for record in frame.records {
                            let target = try self.target(for: header, record: record, in: &targets)
                            target.mapper.add(record)
                        }
                        if let t = targets[Self.key(header)], t.mapper.encoder.bytes.count >= 1 << 20 { try t.flush() }
                        progress.update(Int(done + frame.end))
                        fileDone = frame.end
                    },
                    end: { file in
                        done += LogInput.fileSize(file.path) ?? fileDone
                        progress.update(Int(done))
                    })
                damaged = damaged || scan.sawDamage
            }
            for t in targets.values {
                try t.flush()
                try t.file.sync()
            }
        } catch let e as EventFileError {
            progress.done()
            throw CLIError(.cannotWrite, e.description)
        }
        progress.done()
        if damaged { throw CLIError.damageReported }
    }

    private static func key(_ h: FileHeader) -> String { "\(h.runID)\u{0}\(h.rank)" }

    private func target(for header: FileHeader, record: Record, in targets: inout [String: Target]) throws -> Target {
        if let t = targets[Self.key(header)] { return t }
        var start = RunStart(runID: header.runID)
        start.rank = header.rank
        start.startTime = header.created
        if case .runStart(let s) = record { start = s }
        let dir = TensorBoardLayout.runDirectory(
            root: outdir, project: start.project, name: start.name, runID: start.runID, rank: start.rank)
        let file = try EventFile(
            directory: outdir + "/" + dir, name: TensorBoardLayout.fileName(runID: start.runID, startTime: start.startTime))
        let t = Target(file: file)
        t.mapper.encoder.fileVersion(wallTime: EventEncoder.seconds(start.startTime))
        targets[Self.key(header)] = t
        return t
    }
}
