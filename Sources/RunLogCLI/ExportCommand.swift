// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RunLog

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export metrics as CSV, or runs as TensorBoard event files.",
        discussion: """
            With --csv, one PATH: long form (the default): a header line `step,time,key,value`, then one line per \
            value. With --wide: `step,time,` and one column per key (in order of first \
            appearance), one line per logged row, empty cells where a row has no value. \
            Values are the shortest decimals that read back exactly, or nan, inf, -inf. Keys \
            are quoted as RFC 4180 says when they hold a comma, quote or line break.

            Times are seconds since the epoch with six fraction digits (--time epoch, the \
            default: a number that spreadsheets, pandas and awk compute with as it is), or \
            with --time iso the UTC times `runlog dump` prints, 2026-11-26T16:40:07.847626Z \
            (pandas: pd.to_datetime). Both are exact to the microsecond logged.

            PATH is a run directory, a .rlog file, or a run id as `runlog ls` shows it, \
            looked up under ROOT (--root, else $RUNLOG_DIR, else ./runlogs).

            With --tensorboard OUTDIR, any number of PATHs: each run and rank becomes a \
            TensorBoard run, OUTDIR/<project>/<name or id>[/rank<N>], holding its metrics (with \
            their steps, times and full double values), histograms, config and summary (HParams), \
            and tags, notes, checkpoints and run ends as text. Exporting a run again replaces \
            its files. A progress line is shown on a terminal. If OUTDIR cannot be written \
            (permissions, a full disk), one line names the file and the exit status is 3.

            Examples:
              runlog export --csv runlogs/3kx9a0qz > metrics.csv
              runlog export --csv --wide --key 'val/*' runlogs/3kx9a0qz
              runlog export --csv --time iso runlogs/3kx9a0qz
              runlog export --tensorboard tb runlogs/*/ && tensorboard --logdir tb

            \(RunLogCommand.exitStatuses)
            """)

    @Argument(help: "Run directories, .rlog files or run ids under ROOT (one for --csv).")
    var paths: [String]

    @OptionGroup var runs: RunArguments

    @Flag(help: "Write CSV to standard output.")
    var csv = false

    @Option(help: ArgumentHelp("Write TensorBoard event files under this directory.", valueName: "outdir"))
    var tensorboard: String?

    @Flag(help: "One column per key instead of one line per value.")
    var wide = false

    @Option(name: .long, help: ArgumentHelp("How times are written: epoch (seconds since the epoch, the default) or iso (UTC, as dump prints them).", valueName: "epoch|iso"))
    var time: CSVWriter.TimeForm = .epoch

    @Option(name: .long, help: ArgumentHelp("Only keys matching this glob (repeatable).", valueName: "glob"))
    var key: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only steps in this inclusive range: A:B, A:, :B or A.", valueName: "A:B"))
    var steps: StepRange?

    func validate() throws {
        guard csv != (tensorboard != nil) else { throw ValidationError("say which format: --csv or --tensorboard OUTDIR") }
        if csv && paths.count != 1 { throw ValidationError("--csv exports one PATH") }
        if tensorboard != nil && (wide || !key.isEmpty || steps != nil) {
            throw ValidationError("--wide, --key and --steps go with --csv")
        }
    }

    func run() throws {
        if let tensorboard {
            return try TensorBoardExport(outdir: tensorboard, paths: paths, runs: runs).run()
        }
        let input = try runs.resolve(paths[0])
        var filter = try RecordFilter(kinds: ["metrics"], keyGlobs: key, steps: steps)
        let output = Output()
        var csv = CSVWriter(times: time)
        var columns: [String: Int] = [:]
        if wide {
            // First pass: the columns, in order of first appearance.
            var keys: [String] = []
            try LogScan { _ in }.run(input, frame: { _, frame in
                for case .metrics(let block) in frame.records {
                    guard let kept = filter.filter(block) else { continue }
                    for k in kept.keys where columns[k] == nil {
                        columns[k] = keys.count
                        keys.append(k)
                    }
                }
            })
            csv.header(["step", "time"] + keys)
        } else {
            csv.header(["step", "time", "key", "value"])
        }
        let scan = LogScan.reportingToStandardError()
        try scan.run(input, frame: { _, frame in
            for case .metrics(let block) in frame.records {
                guard let kept = filter.filter(block) else { continue }
                if wide { csv.wideRows(kept, columns: columns) } else { csv.longRows(kept) }
                output.drain(&csv.output)
            }
        })
        output.drain(&csv.output, force: true)
        output.flush()
        if scan.sawDamage { throw CLIError.damageReported }
    }
}

/// CSV lines (RFC 4180, `\n` line ends) in a byte buffer.
struct CSVWriter {
    /// How the time column is written.
    enum TimeForm: String, ExpressibleByArgument, CaseIterable {
        /// Seconds since the epoch, six fraction digits: 1764171652.123466.
        case epoch
        /// ISO 8601 UTC with microseconds, as `dump` prints: 2025-11-26T15:40:52.123466Z.
        case iso
    }

    var output: [UInt8] = []
    let times: TimeForm
    private var json = CanonicalJSON(capacity: 64)

    init(times: TimeForm = .epoch) {
        self.times = times
        output.reserveCapacity(1 << 19)
    }

    mutating func header(_ names: [String]) {
        for (i, n) in names.enumerated() {
            if i > 0 { output.append(UInt8(ascii: ",")) }
            field(n)
        }
        output.append(UInt8(ascii: "\n"))
    }

    /// One line per value: step,time,key,value.
    mutating func longRows(_ block: MetricsBlock) {
        let keys = block.keys.map { k -> [UInt8] in
            var w = CSVWriter()
            w.field(k)
            return [UInt8(ascii: ",")] + w.output + [UInt8(ascii: ",")]
        }
        var cursors = [Int](repeating: 0, count: block.columns.count)
        for i in 0..<block.rowCount {
            let prefix = output.count
            stepAndTime(block.steps[i], block.times[i])
            let stepTime = Array(output[prefix...])
            output.removeSubrange(prefix...)
            for j in block.columns.indices where block.columns[j].has(row: i) {
                output.append(contentsOf: stepTime)
                output.append(contentsOf: keys[j])
                Formatting.append(double: block.columns[j].values[cursors[j]], to: &output)
                output.append(UInt8(ascii: "\n"))
                cursors[j] += 1
            }
        }
    }

    /// One line per row: step,time and a cell per column of `columns`.
    mutating func wideRows(_ block: MetricsBlock, columns: [String: Int]) {
        let slots = block.keys.map { columns[$0]! }
        var cells = [Double?](repeating: nil, count: columns.count)
        var cursors = [Int](repeating: 0, count: block.columns.count)
        for i in 0..<block.rowCount {
            for j in block.columns.indices where block.columns[j].has(row: i) {
                cells[slots[j]] = block.columns[j].values[cursors[j]]
                cursors[j] += 1
            }
            stepAndTime(block.steps[i], block.times[i])
            for k in cells.indices {
                output.append(UInt8(ascii: ","))
                if let v = cells[k] { Formatting.append(double: v, to: &output) }
                cells[k] = nil
            }
            output.append(UInt8(ascii: "\n"))
        }
    }

    private mutating func stepAndTime(_ step: Int64, _ time: Int64) {
        json.output.removeAll(keepingCapacity: true)
        json.int(step)
        json.output.append(UInt8(ascii: ","))
        switch times {
        case .epoch: json.time(time)
        case .iso: json.output.append(contentsOf: Formatting.timestamp(time).utf8)
        }
        output.append(contentsOf: json.output)
    }

    /// A field, quoted when it holds a comma, quote, CR or LF.
    mutating func field(_ s: String) {
        let needsQuotes = s.utf8.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else { output.append(contentsOf: s.utf8); return }
        output.append(0x22)
        for c in s.utf8 {
            if c == 0x22 { output.append(0x22) }
            output.append(c)
        }
        output.append(0x22)
    }
}
