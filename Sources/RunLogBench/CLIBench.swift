// SPDX-License-Identifier: Apache-2.0
// `runlog-bench cli`: how fast `runlog stats` and `runlog dump --json` read
// workload A (200,000 steps × 4 float64 scalars), end to end: the `runlog`
// built next to this program runs on a log written here, its output going to
// /dev/null. Figures are per CPU second of the child (user + system, robust on
// a shared machine) and per wall second (process start included).
// With TensorBoard in $RUNLOG_VENV, its Python event loader reading the same
// points from an event file is measured the same way: the anchor to beat.
// RUNLOG_BENCH_KEEP=1 keeps the files, e.g. to profile the reader on them.
import Foundation
import RunLog

func cliBench(quick: Bool) throws {
    let steps = quick ? 20_000 : 200_000
    let repetitions = quick ? 2 : 7
    let dir = NSTemporaryDirectory() + "runlog-bench-cli-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let keep = ProcessInfo.processInfo.environment["RUNLOG_BENCH_KEEP"] == "1"
    defer { if keep { print("  files kept in \(dir)") } else { try? FileManager.default.removeItem(atPath: dir) } }
    let log = dir + "/workload-a.rlog"
    let csv = dir + "/workload-a.csv"
    try writeLog(WorkloadA(steps: steps), log: log, csv: csv)
    let size = (try FileManager.default.attributesOfItem(atPath: log)[.size] as? NSNumber)?.intValue ?? 0
    let runlog = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("runlog").path
    guard FileManager.default.isExecutableFile(atPath: runlog) else {
        throw CLIBenchError("runlog not found next to runlog-bench (\(runlog)): build all products")
    }
    let points = Double(steps * 4)
    print("cli: workload A, \(figure(Double(steps))) steps x 4 float64 scalars, log of \(figure(Double(size))) bytes; median of \(repetitions) (min..max)")
    let stats = try measureChild(repetitions) { try runChild(runlog, ["stats", log]) }
    report("runlog stats", stats, count: points, unit: "points/s", target: "target >= 20 M points/s")
    let dump = try measureChild(repetitions) { try runChild(runlog, ["dump", "--json", log]) }
    report("runlog dump --json", dump, count: Double(steps), unit: "records/s", target: "target >= 2 M records/s")
    // One repetition: its pure-Python reader takes a minute or more on the full workload.
    if let tensorboard = try tensorBoardAnchor(csv: csv, dir: dir, repetitions: 1) {
        report("TensorBoard EventFileLoader", tensorboard, count: points, unit: "points/s",
               target: "runlog stats: \(String(format: "%.0f", tensorboard.cpu.median / stats.cpu.median))x less CPU")
    } else {
        print("  TensorBoard anchor skipped: no python with tensorboard in $RUNLOG_VENV")
    }
}

private struct CLIBenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The workload as a log (frames of 1,500 rows, about the 64 KiB frame target) and as CSV.
private func writeLog(_ w: WorkloadA, log: String, csv: String) throws {
    let t0: Int64 = 1_764_171_652_000_000
    let writer = try LogWriter(creating: log, header: FileHeader(runID: "workload-a", created: t0, writer: "runlog-bench"))
    var text = "step," + WorkloadA.keys.joined(separator: ",") + "\n"
    var block = MetricsBlock.Builder()
    for i in 0..<w.steps {
        let (loss, accuracy, lr, gradNorm) = w.row(i)
        block.append(step: Int64(i), time: t0 + Int64(i) * 2_500,
                     values: [("loss", loss), ("accuracy", accuracy), ("lr", lr), ("grad_norm", gradNorm)])
        text += "\(i),\(loss),\(accuracy),\(lr),\(gradNorm)\n"
        if block.rowCount == 1_500 { try writer.append([.metrics(block.build()!)]) }
    }
    if let last = block.build() { try writer.append([.metrics(last)]) }
    try writer.close()
    try text.write(toFile: csv, atomically: false, encoding: .utf8)
}

typealias Spread = (median: Double, min: Double, max: Double)

/// Wall seconds and child CPU seconds of `repetitions` runs of `body`.
func measureChild(_ repetitions: Int, _ body: () throws -> Void) throws -> (wall: Spread, cpu: Spread) {
    var wall: [Double] = [], cpu: [Double] = []
    func childCPU() -> Double {
        var u = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
    }
    for _ in 0..<repetitions {
        let (w, c) = (Clock.wall(), childCPU())
        try body()
        wall.append(Clock.wall() - w)
        cpu.append(childCPU() - c)
    }
    func spread(_ xs: [Double]) -> Spread {
        let s = xs.sorted()
        return (s[s.count / 2], s[0], s[s.count - 1])
    }
    return (spread(wall), spread(cpu))
}

/// Runs a program with its output to /dev/null; throws unless it exits 0.
func runChild(_ path: String, _ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw CLIBenchError("\(path) \(args.joined(separator: " ")) exited with \(p.terminationStatus)") }
}

/// Writes the points to a TensorBoard event file, then times TensorBoard's own loader reading them back.
private func tensorBoardAnchor(csv: String, dir: String, repetitions: Int) throws -> (wall: Spread, cpu: Spread)? {
    let venv = ProcessInfo.processInfo.environment["RUNLOG_VENV"] ?? ".venv"
    let python = venv + "/bin/python"
    guard FileManager.default.isExecutableFile(atPath: python),
        (try? runChild(python, ["-c", "import tensorboard.backend.event_processing.event_file_loader, tensorboard.summary.writer.event_file_writer"])) != nil
    else { return nil }
    let write = """
        import csv, sys
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
        w = EventFileWriter(sys.argv[2])
        with open(sys.argv[1]) as f:
            for row in csv.DictReader(f):
                step = int(row.pop("step"))
                for key, value in row.items():
                    s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=key, simple_value=float(value))])
                    w.add_event(event_pb2.Event(step=step, wall_time=1764171652.0 + step * 0.0025, summary=s))
        w.close()
        """
    try runChild(python, ["-c", write, csv, dir + "/tb"])
    let read = """
        import glob, sys
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
        n = 0
        for path in glob.glob(sys.argv[1] + "/events.*"):
            for event in EventFileLoader(path).Load():
                n += len(event.summary.value)
        print(n)
        """
    return try measureChild(repetitions) { try runChild(python, ["-c", read, dir + "/tb"]) }
}

private func report(_ name: String, _ t: (wall: Spread, cpu: Spread), count: Double, unit: String, target: String) {
    func s(_ x: Double) -> String { String(format: "%.3f", x) }
    let cpuRate = figure(count / t.cpu.median / 1e6, decimals: 2)
    let wallRate = figure(count / t.wall.median / 1e6, decimals: 2)
    print("  \(name.padding(toLength: 28, withPad: " ", startingAt: 0)) cpu \(s(t.cpu.median)) s (\(s(t.cpu.min))..\(s(t.cpu.max))) = \(cpuRate) M \(unit); wall \(s(t.wall.median)) s = \(wallRate) M \(unit)  [\(target)]")
}
