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
            --checksums, the recorded SHA-256).

            An incomplete tail (a frame that a running writer has not finished, or one torn \
            by a crash) is reported, not counted as damage.

            Examples:
              runlog verify runlogs/3kx9a0qz
              runlog verify --quiet run.rlog && echo intact
              runlog verify --checksums runlogs/3kx9a0qz

            \(RunLogCommand.exitStatuses)
            """)

    @Argument(help: "A run directory or a .rlog file.")
    var path: String

    @Flag(name: [.short, .long], help: "Print only problems and the verdict.")
    var quiet = false

    @Flag(help: "Also compare each checkpoint file's SHA-256 with its record (reads every checkpoint).")
    var checksums = false

    func run() throws {
        let input = try LogInput.resolve(path)
        let output = Output()
        let style = Style(terminal: output.isTerminal)
        var problems: [LogScan.Problem] = []
        var frames = 0, records = 0, dropped: Int64 = 0, tails = 0
        var fileFrames = 0, fileRecords = 0
        var fileProblems = 0
        var checkpoints: [Checkpoint] = []
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
            for case .checkpoint(let c) in frame.records { checkpoints.append(c) }
            frames += 1
            fileFrames += 1
            records += frame.records.count
            fileRecords += frame.records.count
        }, end: { file in
            endFile(file.path)
        })
        var missing: [String] = []
        if let run = input.run {
            missing = CheckpointCheck.problems(run: run, checkpoints: checkpoints, checksums: checksums)
            for line in missing { output.write(style.red(line) + "\n") }
        }
        let damage = problems.filter(\.isDamage).count + missing.count
        let files = input.files.count
        var counts = "\(files) file\(files == 1 ? "" : "s"), \(frames) frames, \(records) records"
        if input.run != nil, !checkpoints.isEmpty {
            counts += ", \(checkpoints.count) checkpoint file\(checkpoints.count == 1 ? "" : "s")"
        }
        if damage > 0 {
            output.write(style.red("damaged") + ": \(damage) problem\(damage == 1 ? "" : "s"), \(dropped) bytes dropped (\(counts))\n")
        } else if tails > 0 {
            output.write(style.green("intact") + ", with \(tails) incomplete tail\(tails == 1 ? "" : "s") (\(counts))\n")
        } else {
            output.write(style.green("intact") + " (\(counts))\n")
        }
        output.flush()
        if damage > 0 { throw CLIError.damageReported }
    }
}
