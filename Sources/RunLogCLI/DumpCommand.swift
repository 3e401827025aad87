// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RunLog

struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print every record of a log or run, as text or canonical JSON Lines.",
        discussion: """
            PATH is a run directory (all its logs in order: by rank, then attempt, then segment) \
            or a single .rlog file. Text lines start with the record's kind; metrics give one \
            line per row. Times are UTC; numbers read back exactly.

            --key keeps the metrics values and histograms whose key matches a glob; --steps \
            keeps the metrics rows, histograms and checkpoints in a step range. Either one \
            leaves out the records that have no key or no step (headers, config, tags, …).

            Damaged stretches are skipped and reported on standard error (exit status 1); \
            an incomplete tail, from a writer still running or one that crashed, is noted there too.

            Examples:
              runlog dump runlogs/3kx9a0qz
              runlog dump --json runlogs/3kx9a0qz/logs/a0001-r0000-s0000.rlog | jq .
              runlog dump --kind metrics --key 'train/*' --steps 1000:2000 runlogs/3kx9a0qz
              runlog dump --follow runlogs/3kx9a0qz

            \(RunLogCommand.exitStatuses)
            """)

    @Argument(help: "A run directory or a .rlog file.")
    var path: String

    @Flag(help: "Write canonical JSON Lines (spec/format.md §6) instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Only records of this kind (repeat or separate with commas): header, run_start, config, metrics, histogram, checkpoint, tags, summary, run_end, unknown.", valueName: "kind"))
    var kind: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only metrics values and histograms whose key matches this glob (repeatable), e.g. 'train/*'.", valueName: "glob"))
    var key: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only steps in this inclusive range: A:B, A:, :B or A.", valueName: "A:B"))
    var steps: StepRange?

    @Flag(name: [.short, .long], help: "Keep reading as the run grows, like tail -f; end at its run end record or on Ctrl-C.")
    var follow = false

    func validate() throws {
        _ = try RecordFilter(kinds: kind, keyGlobs: key, steps: steps)
    }

    func run() throws {
        let filter = try RecordFilter(kinds: kind, keyGlobs: key, steps: steps)
        let output = Output()
        var printer = RecordPrinter(json: json, filter: filter, output: output)
        if follow {
            let input = try LogInput.resolve(path, allowNoLogs: true)
            try Follower(input: input).run(printer: &printer)
            return
        }
        let input = try LogInput.resolve(path)
        let scan = LogScan.reportingToStandardError()
        try scan.run(input, header: { file, reader in
            printer.header(reader.header, file: file.path)
        }, frame: { _, frame in
            for record in frame.records { printer.record(record) }
        })
        printer.finish()
        if scan.sawDamage { throw CLIError.damageReported }
    }
}

/// Writes records as text or canonical JSON, through a filter, in large chunks.
struct RecordPrinter {
    let json: Bool
    var filter: RecordFilter
    let output: Output
    private var canonical = CanonicalJSON(capacity: 1 << 19)
    private var text = TextFormatter()

    init(json: Bool, filter: RecordFilter, output: Output) {
        self.json = json
        self.filter = filter
        self.output = output
    }

    mutating func header(_ h: FileHeader, file: String) {
        guard filter.keepsHeaders else { return }
        if json { canonical.append(h) } else { text.append(header: h, file: file) }
        drain()
    }

    mutating func record(_ record: Record) {
        let shown: Record
        if filter.isEmpty {
            shown = record
        } else {
            guard let kept = filter.apply(record) else { return }
            shown = kept
        }
        if json { canonical.append(shown) } else { text.append(shown) }
        drain()
    }

    private mutating func drain(force: Bool = false) {
        if json { output.drain(&canonical.output, force: force) } else { output.drain(&text.output, force: force) }
    }

    /// Writes out everything buffered.
    mutating func finish() {
        drain(force: true)
        output.flush()
    }
}
