// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RunLog

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every frame and record of a log or run.",
        discussion: """
            Prints one line per file, one line per problem (file, offset, bytes dropped, \
            reason) and a one-line verdict. In a run directory it also checks that each \
            checkpoint file its records name is there with the recorded size (and, with \
            --checksums, the recorded SHA-256), except files the writer removed on purpose \
            (a checkpoint_removed record): those are counted, not checked.

            An incomplete tail (a frame that a running writer has not finished, or one torn \
            by a crash) is reported, not counted as damage.

            PATH is a run directory, a .rlog file, a run id as `runlog ls` shows it (looked \
            up under ROOT: --root, else $RUNLOG_DIR, else ./runlogs), or a root of runs, \
            which checks every run in it. With several runs each verdict names its run, and \
            a last line counts them; the exit status is the worst one.

            Examples:
              runlog verify runlogs/3kx9a0qz
              runlog verify --quiet runlogs
              runlog verify --quiet run.rlog && echo intact
              runlog verify --checksums runlogs/3kx9a0qz

            \(RunLogCommand.exitStatuses)
            """)

    @Argument(help: "Run directories, .rlog files, run ids under ROOT, or roots of runs.")
    var paths: [String]

    @OptionGroup var runs: RunArguments

    @Flag(name: [.short, .long], help: "Print only problems and the verdict.")
    var quiet = false

    @Flag(help: "Also compare each checkpoint file's SHA-256 with its record (reads every checkpoint).")
    var checksums = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("say which run or log: PATH") }
    }

    func run() throws {
        // Each argument, with a root of runs replaced by its runs.
        var inputs: [String] = []
        for argument in paths {
            let path = runs.locate(argument)
            let root = RunDirectory(path: path)
            if LogInput.isDirectory(path), !LogInput.isDirectory(root.logsPath),
                let found = try? RunDirectory.list(root: path), !found.isEmpty
            {
                inputs += found.map(\.path)
            } else {
                inputs.append(argument)
            }
        }
        let output = Output()
        let several = inputs.count > 1
        var intact = 0, damaged = 0, unreadable = 0
        do {
            try RunArguments.forEach(inputs) { path in
                do {
                    try verify(path, output: output, named: several)
                    intact += 1
                } catch let e as CLIError {
                    if e.status == .damaged { damaged += 1 } else { unreadable += 1 }
                    throw e
                }
            }
        } catch {
            if several { output.write(summary(intact, damaged, unreadable)) }
            output.flush()
            throw error
        }
        if several { output.write(summary(intact, damaged, unreadable)) }
        output.flush()
    }

    private func summary(_ intact: Int, _ damaged: Int, _ unreadable: Int) -> String {
        var parts = ["\(intact) intact"]
        if damaged > 0 { parts.append("\(damaged) damaged") }
        if unreadable > 0 { parts.append("\(unreadable) unreadable") }
        return "\(intact + damaged + unreadable) checked: " + parts.joined(separator: ", ") + "\n"
    }

    /// Checks one run or log; its verdict starts with its path when `named`.
    private func verify(_ path: String, output: Output, named: Bool) throws {
        let input = try runs.resolve(path)
        let style = Style(terminal: output.isTerminal)
        let name = named ? input.path + ": " : ""
        var problems: [LogScan.Problem] = []
        var frames = 0, records = 0, dropped: Int64 = 0, tails = 0
        var fileFrames = 0, fileRecords = 0
        var fileProblems = 0
        var ledger = CheckpointLedger()
        func endFile(_ file: String) {
            guard !quiet else { return }
            let state = fileProblems == 0 ? style.green("ok") : style.red("damaged")
            output.write("\(file): \(state): \(fileFrames) frames, \(fileRecords) records, \(Formatting.bytes(LogInput.fileSize(file) ?? 0))\n")
        }
        let scan = LogScan { p in
            problems.append(p)
            if p.isDamage {
                dropped += p.length
                fileProblems += 1
            } else {
                tails += 1
            }
            output.write((p.isDamage ? style.red(p.line) : style.yellow(p.line)) + "\n")
        }
        try scan.run(input, header: { _, _ in
            (fileFrames, fileRecords, fileProblems) = (0, 0, 0)
        }, frame: { _, frame in
            for record in frame.records { ledger.add(record) }
            frames += 1
            fileFrames += 1
            records += frame.records.count
            fileRecords += frame.records.count
        }, end: { file in
            endFile(file.path)
        })
        var missing: [String] = []
        if let run = input.run {
            missing = CheckpointCheck.problems(run: run, checkpoints: ledger.kept, checksums: checksums)
            for line in missing { output.write(style.red(line) + "\n") }
        }
        let damage = problems.filter(\.isDamage).count + missing.count
        let files = input.files.count
        var counts = "\(files) file\(files == 1 ? "" : "s"), \(frames) frames, \(records) records"
        let kept = ledger.kept.count, retired = ledger.retired.count
        if input.run != nil, kept > 0 {
            counts += ", \(kept) checkpoint file\(kept == 1 ? "" : "s")"
        }
        if input.run != nil, retired > 0 {
            counts += ", \(retired) checkpoint\(retired == 1 ? "" : "s") removed by the writer"
        }
        if damage > 0 {
            output.write(name + style.red("damaged") + ": \(damage) problem\(damage == 1 ? "" : "s"), \(dropped) bytes dropped (\(counts))\n")
        } else if tails > 0 {
            output.write(name + style.green("intact") + ", with \(tails) incomplete tail\(tails == 1 ? "" : "s") (\(counts))\n")
        } else {
            output.write(name + style.green("intact") + " (\(counts))\n")
        }
        if damage > 0 { throw CLIError.damageReported }
    }
}
