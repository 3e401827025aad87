// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RunLog

struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print every record of a log or run, as text or canonical JSON Lines.",
        discussion: """
            PATH is a run directory (all its logs in order: by rank, then attempt, then segment), \
            a single .rlog file, or a run id as `runlog ls` shows it, looked up under ROOT \
            (--root, else $RUNLOG_DIR, else ./runlogs). Several PATHs are dumped one after \
            the other. Text lines start with the record's kind; metrics give one line per \
            row. Times are UTC; numbers read back exactly.

            --key keeps the metrics values and histograms whose key matches a glob; --steps \
            keeps the metrics rows, histograms and checkpoints in a step range. Either one \
            leaves out the records that have no key or no step (headers, config, tags, …), \
            unless --kind names their kind: --kind metrics,run_end --key loss keeps the run end.

            Damaged stretches are skipped and reported on standard error (exit status 1); \
            an incomplete tail, from a writer still running or one that crashed, is noted there too.

            --follow with --wait waits for a run that does not exist yet (a job still in the \
            queue) instead of exiting with status 2, until its first log appears or Ctrl-C.

            Examples:
              runlog dump runlogs/3kx9a0qz
              runlog dump 3kx9a0qz 7fj2m1pa
              runlog dump --json runlogs/3kx9a0qz/logs/a0001-r0000-s0000.rlog | jq .
              runlog dump --kind metrics --key 'train/*' --steps 1000:2000 runlogs/3kx9a0qz
              runlog dump --follow runlogs/3kx9a0qz
              runlog dump --follow --wait --root /scratch/me/runlogs "$SLURM_JOB_ID"

            \(RunLogCommand.exitStatuses)
            """)

    @Argument(help: "Run directories, .rlog files or run ids under ROOT.")
    var paths: [String]

    @OptionGroup var runs: RunArguments

    @Flag(help: "Write canonical JSON Lines (spec/format.md §6) instead of text.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Only records of this kind (repeat or separate with commas): header, run_start, config, metrics, histogram, checkpoint, checkpoint_removed, tags, summary, run_end, console, environment, unknown.", valueName: "kind"))
    var kind: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only metrics values and histograms whose key matches this glob (repeatable), e.g. 'train/*'.", valueName: "glob"))
    var key: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only steps in this inclusive range: A:B, A:, :B or A.", valueName: "A:B"))
    var steps: StepRange?

    @Flag(name: [.short, .long], help: "Keep reading as the run grows, like tail -f; end at its run end record or on Ctrl-C.")
    var follow = false

    @Flag(help: "With --follow: wait for a run that does not exist yet, until its first log appears.")
    var wait = false

    func validate() throws {
        _ = try RecordFilter(kinds: kind, keyGlobs: key, steps: steps)
        guard !paths.isEmpty else { throw ValidationError("say which run or log: PATH") }
        if follow && paths.count > 1 { throw ValidationError("--follow follows one run: give one PATH") }
        if wait && !follow { throw ValidationError("--wait goes with --follow") }
    }

    func run() throws {
        let filter = try RecordFilter(kinds: kind, keyGlobs: key, steps: steps)
        let output = Output()
        var printer = RecordPrinter(json: json, filter: filter, output: output)
        if follow {
            let input = wait ? try waitForRun(paths[0]) : try runs.resolve(paths[0], allowNoLogs: true)
            guard let input else { return }
            try Follower(input: input).run(printer: &printer)
            return
        }
        try RunArguments.forEach(paths) { path in
            let input = try runs.resolve(path)
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

    /// Polls every 100 ms until `argument` names a run or log that can be
    /// followed; nil when Ctrl-C or SIGTERM came first.
    private func waitForRun(_ argument: String) throws -> LogInput? {
        StopSignals.install()
        defer { StopSignals.uninstall() }
        var said = false
        while !StopSignals.requested {
            do {
                return try runs.resolve(argument, allowNoLogs: true)
            } catch let e as CLIError where e.status == .cannotRead {
                if !said {
                    Diagnostics.warning("waiting for \(argument) to appear (Ctrl-C to stop)")
                    said = true
                }
            }
            usleep(100_000)
        }
        return nil
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
