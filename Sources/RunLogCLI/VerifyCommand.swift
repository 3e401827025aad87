import ArgumentParser
import RunLog

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every frame and record of a log or run.",
        discussion: """
            Prints one line per file, one line per problem (file, offset, bytes dropped, \
            reason) and a one-line verdict.

            Exit status: 0 intact, also when a log ends in an incomplete tail (a writer that \
            is still running, or one that crashed mid-write: reported, not an error); \
            1 damaged; 2 cannot read PATH, or bad usage.

            Examples:
              runlog verify runlogs/3kx9a0qz
              runlog verify --quiet run.rlog && echo intact
            """)

    @Argument(help: "A run directory or a .rlog file.")
    var path: String

    @Flag(name: [.short, .long], help: "Print only problems and the verdict.")
    var quiet = false

    func run() throws {
        let input = try LogInput.resolve(path)
        let output = Output()
        let style = Style(terminal: output.isTerminal)
        var problems: [LogScan.Problem] = []
        var frames = 0, records = 0, dropped: Int64 = 0, tails = 0
        var fileFrames = 0, fileRecords = 0
        var fileProblems = 0
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
            frames += 1
            fileFrames += 1
            records += frame.records.count
            fileRecords += frame.records.count
        }, end: { file in
            endFile(file.path)
        })
        let damage = problems.filter(\.isDamage).count
        let files = input.files.count
        let counts = "\(files) file\(files == 1 ? "" : "s"), \(frames) frames, \(records) records"
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
