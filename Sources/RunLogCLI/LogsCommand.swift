// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RunLog

struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print what a run printed: its captured standard output and error.",
        discussion: """
            PATH is a run directory, a single .rlog file, or a run id under ROOT. Lines are \
            shown as a terminal showed them: a line redrawn with \\r (a progress bar) in its \
            final state. Both streams are merged by time; per attempt and rank when the run \
            has several, each under a line `==> attempt A rank R <==`. Text the writer could \
            not keep shows as `[N bytes of stdout dropped]`.

            --since keeps what was printed from a time on: a UTC time as dump prints it \
            (2026-11-29T23:00:00Z, fraction optional) or a duration before now (90s, 10m, 2h, 1d). \
            --tail N keeps the last N lines.

            Examples:
              runlog logs runlogs/3kx9a0qz
              runlog logs --stream stderr --tail 50 3kx9a0qz
              runlog logs --follow --since 10m 3kx9a0qz

            \(RunLogCommand.exitStatuses)
            """)

    @Argument(help: "A run directory, an .rlog file or a run id under ROOT.")
    var path: String

    @OptionGroup var runs: RunArguments

    @Flag(name: [.short, .long], help: "Keep printing as the run prints, like tail -f; end once the run has ended or on Ctrl-C.")
    var follow = false

    @Option(help: ArgumentHelp("Only this stream: stdout or stderr.", valueName: "stdout|stderr"))
    var stream: String?

    @Option(help: ArgumentHelp("Only what was printed from this time on: 2026-11-29T23:00:00Z, or a duration before now: 90s, 10m, 2h, 1d.", valueName: "time"))
    var since: String?

    @Option(name: [.customShort("n"), .long], help: ArgumentHelp("Only the last N lines.", valueName: "N"))
    var tail: Int?

    func validate() throws {
        _ = try streams()
        _ = try sinceMicros(now: 0)
        if let tail, tail < 0 { throw ValidationError("--tail must be 0 or more, got \(tail)") }
    }

    func run() throws {
        let renderer = ConsoleRenderer(streams: try streams(), since: try sinceMicros(now: currentMicros()))
        let input = try runs.resolve(path, allowNoLogs: follow)
        var sink = ConsoleSink(renderer: renderer, tail: tail, output: Output(), groups: Self.groups(input))
        if follow {
            var follower = Follower(input: input)
            follower.lingerAfterEnd = 1.5
            try follower.run(printer: &sink)
            sink.end()
            return
        }
        let scan = LogScan.reportingToStandardError()
        try scan.run(input, header: { _, reader in
            sink.header(reader.header, file: "")
        }, frame: { _, frame in
            for record in frame.records { sink.record(record) }
        })
        sink.end()
        if scan.sawDamage { throw CLIError.damageReported }
    }

    private func streams() throws -> Set<ConsoleText.Stream>? {
        switch stream {
        case nil: return nil
        case "stdout": return [.stdout]
        case "stderr": return [.stderr]
        case let s?: throw ValidationError("--stream is stdout or stderr, got '\(s)'")
        }
    }

    /// --since as microseconds since the epoch, for a clock reading `now`.
    private func sinceMicros(now: Int64) throws -> Int64? {
        guard let since else { return nil }
        if let seconds = HumanText.seconds(since) {
            let micros = seconds * 1_000_000
            return micros < Double(now) ? now - Int64(micros) : .min  // before the epoch: all of it
        }
        guard let t = Formatting.parseTimestamp(since) else {
            throw ValidationError("--since takes a UTC time like 2026-11-29T23:00:00Z or a duration like 10m, got '\(since)'")
        }
        return t
    }

    private func currentMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// How many (attempt, rank) pairs the input's files hold.
    static func groups(_ input: LogInput) -> Int {
        Set(input.files.compactMap { f -> [UInt64]? in
            if let s = f.segment { return [s.attempt, s.rank] }
            return f.console.map { [$0.attempt, $0.rank] }
        }).count
    }
}

/// Console records to text: per (attempt, rank), merged by time, rendered.
struct ConsoleSink: RecordSink {
    var renderer: ConsoleRenderer
    let tail: Int?
    let output: Output
    let groups: Int
    private var group: (attempt: UInt64, rank: UInt64)?
    private var pending: [(time: Int64, index: Int, text: ConsoleText)] = []
    private var lines: [ArraySlice<UInt8>] = []  // the last `tail` lines, while they are held
    private var holding: Bool
    private var buffer: [UInt8] = []

    init(renderer: ConsoleRenderer, tail: Int?, output: Output, groups: Int) {
        self.renderer = renderer
        self.tail = tail
        self.output = output
        self.groups = groups
        holding = tail != nil
    }

    mutating func header(_ h: FileHeader, file: String) {
        if let g = group, g == (h.attempt, h.rank) { return }
        flushPending()
        var out: [ArraySlice<UInt8>] = []
        renderer.finish { out.append($0) }
        out.forEach { emit($0) }
        group = (h.attempt, h.rank)
        if groups > 1 { emit(ArraySlice("==> attempt \(h.attempt) rank \(h.rank) <==\n".utf8)) }
    }

    mutating func record(_ record: Record) {
        guard case .console(let c) = record, renderer.keeps(c) else { return }
        pending.append((c.time, pending.count, c))
    }

    /// The end of a pass (following) or of the input: what is pending, merged by time.
    mutating func finish() {
        flushPending()
        if holding {
            holding = false
            for l in lines.suffix(tail ?? 0) { buffer += l }
            lines = []
        }
        output.drain(&buffer, force: true)
        output.flush()
    }

    /// The end of everything: partial lines too.
    mutating func end() {
        flushPending()
        var out: [ArraySlice<UInt8>] = []
        renderer.finish { out.append($0) }
        out.forEach { emit($0) }
        finish()
    }

    private mutating func flushPending() {
        pending.sort { ($0.time, $0.index) < ($1.time, $1.index) }
        var out: [ArraySlice<UInt8>] = []
        for p in pending { renderer.add(p.text) { out.append($0) } }
        pending = []
        out.forEach { emit($0) }
    }

    private mutating func emit(_ line: ArraySlice<UInt8>) {
        if holding, let tail {
            lines.append(line)
            if lines.count > 2 * tail + 64 { lines.removeFirst(lines.count - tail) }
        } else {
            buffer += line
            if buffer.count >= 1 << 18 { output.drain(&buffer) }
        }
    }
}
