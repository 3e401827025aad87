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

    func run() throws {
        let inputs = try paths.map { try runs.resolve($0) }
        let total = inputs.flatMap(\.files).reduce(Int64(0)) { $0 + (LogInput.fileSize($1.path) ?? 0) }
        let progress = Progress(total: Int(total), enabled: Diagnostics.isTerminal) {
            "exported \(Formatting.bytes(Int64($0))) of \(Formatting.bytes(Int64($1)))"
        }
        var done: Int64 = 0
        var writers: [String: TensorBoardRunWriter] = [:]
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
                        let writer = self.writer(for: header, in: &writers)
                        for record in frame.records {
                            var start = RunStart(runID: header.runID)
                            start.startTime = header.created
                            if case .runStart(let s) = record { start = s }
                            try writer.add(record, rank: header.rank, start: start)
                        }
                        if writer.pendingBytes >= 1 << 20 { try writer.commit(sync: false) }
                        progress.update(Int(done + frame.end))
                        fileDone = frame.end
                    },
                    end: { file in
                        done += LogInput.fileSize(file.path) ?? fileDone
                        progress.update(Int(done))
                    })
                damaged = damaged || scan.sawDamage
            }
            for w in writers.values { try w.commit() }
        } catch let e as EventFileError {
            progress.done()
            throw CLIError(.cannotWrite, e.description)
        }
        progress.done()
        if damaged { throw CLIError.damageReported }
    }

    private func writer(for header: FileHeader, in writers: inout [String: TensorBoardRunWriter]) -> TensorBoardRunWriter {
        if let w = writers[header.runID] { return w }
        let w = TensorBoardRunWriter(root: outdir)
        w.onClash = { path, key in
            Diagnostics.warning("\(path): key \"\(key)\" is both a metric and a histogram: the later kind is written as \"\(key)/metric\" or \"\(key)/histogram\"")
        }
        writers[header.runID] = w
        return w
    }
}
