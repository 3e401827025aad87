// SPDX-License-Identifier: Apache-2.0
// `runlog-bench console`: what the Swift logger's console capture
// (`RunOptions.captureConsole`) costs a program that prints: a child process
// (this program again, `console-print`) prints N short lines
// (`step i loss 0.001234`, about 25 bytes, as tools/bench's Python printer) through Swift's `print`, its standard
// output going to /dev/null (the terminal's stand-in; with capture, the
// capture process passes it on), with capture off and on, interleaved, in
// the same run. Printing time is measured inside the child from its first
// print to its last flush; the whole process includes starting and
// finishing the run (`finish` waits for the console to be written and
// synced); CPU includes the capture processes (reaped by the child). Bytes
// on disk are the console log's against the bytes printed.
import Foundation
import RunLog

func consoleBench(quick: Bool) throws {
    let lines = quick ? 20_000 : 1_000_000
    let repetitions = quick ? 1 : 5
    let dir = NSTemporaryDirectory() + "runlog-bench-console-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var samples: [Bool: [ConsolePrintResult]] = [false: [], true: []]
    for rep in 0..<repetitions {
        for capture in [false, true] {
            samples[capture]!.append(try consolePrintChild(lines: lines, capture: capture, dir: dir + "/\(rep)-\(capture)"))
        }
    }
    print("console: \(figure(Double(lines))) short lines printed by a Swift program to /dev/null (block-buffered); median of \(repetitions) (min..max), interleaved")
    let off = samples[false]!, on = samples[true]!
    func spread(_ xs: [Double]) -> Spread {
        let s = xs.sorted()
        return (s[s.count / 2], s[0], s[s.count - 1])
    }
    func s(_ t: Spread) -> String { String(format: "%.3f (%.3f..%.3f) s", t.median, t.min, t.max) }
    let basePrint = spread(off.map(\.print)).median, baseWhole = spread(off.map(\.whole)).median
    for (label, r) in [("no capture", off), ("captureConsole", on)] {
        let p = spread(r.map(\.print)), w = spread(r.map(\.whole)), c = spread(r.map(\.cpu))
        print("  \(label.padding(toLength: 15, withPad: " ", startingAt: 0)) printing \(s(p)) \(String(format: "%.2f", p.median / basePrint))x; "
            + "whole process \(s(w)) \(String(format: "%.2f", w.median / baseWhole))x; CPU with capture processes \(String(format: "%.3f", c.median)) s")
    }
    let printed = on.map(\.printed).max() ?? 0, disk = spread(on.map { Double($0.onDisk) }).median
    print("  console log on disk: \(figure(disk)) bytes for \(figure(Double(printed))) bytes printed: \(String(format: "%.4f", disk / Double(max(printed, 1)))) of the raw text")
}

struct ConsolePrintResult {
    var print: Double
    var whole: Double
    var cpu: Double
    var printed: Int
    var onDisk: Int
}

/// One `console-print` child: its own figures, its CPU (capture processes included) and the console log's size.
private func consolePrintChild(lines: Int, capture: Bool, dir: String) throws -> ConsolePrintResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    p.arguments = ["console-print", "\(lines)", capture ? "on" : "off", dir]
    p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
    let err = Pipe()
    p.standardError = err
    var before = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &before)
    try p.run()
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    var after = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &after)
    func seconds(_ u: rusage) -> Double {
        Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6
    }
    let fields = text.split(separator: "\n").first { $0.hasPrefix("result ") }?.split(separator: " ").dropFirst().compactMap { Double($0) } ?? []
    guard p.terminationStatus == 0, fields.count == 3 else {
        throw ConsoleBenchError("console-print \(capture ? "on" : "off"): exit \(p.terminationStatus): \(text.suffix(300))")
    }
    var onDisk = 0
    let logs = dir + "/console-print/logs"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: logs)) ?? [] where name.contains("-c") {
        onDisk += (try? FileManager.default.attributesOfItem(atPath: logs + "/" + name)[.size] as? NSNumber)?.intValue ?? 0
    }
    return ConsolePrintResult(print: fields[0], whole: fields[1], cpu: seconds(after) - seconds(before), printed: Int(fields[2]), onDisk: onDisk)
}

/// The child: starts a run under DIR (console capture on or off), prints
/// LINES lines, finishes, and writes `result PRINT_S WHOLE_S BYTES` to its
/// original standard error.
func consolePrint(_ args: [String]) -> Never {
    guard args.count == 3, let lines = Int(args[0]) else {
        print("usage: runlog-bench console-print LINES on|off DIR")
        exit(2)
    }
    let report = dup(2)
    let t0 = Clock.wall()
    var options = RunOptions()
    options.captureConsole = args[1] == "on"
    options.systemMetricsInterval = 0
    do {
        let run = try Run(project: "bench", id: "console-print", root: args[2], options: options)
        let t1 = Clock.wall()
        var printed = 0
        for i in 0..<lines {
            let micro = Int((1e6 / Double(i + 1)).rounded())  // the loss with 6 decimals, as `%.6f` prints it
            let fraction = String(micro % 1_000_000)
            let line = "step \(i) loss \(micro / 1_000_000).\(String(repeating: "0", count: 6 - fraction.count))\(fraction)"
            print(line)
            printed += line.utf8.count + 1
        }
        fflush(nil)
        let t2 = Clock.wall()
        run.finish()
        let result = "result \(t2 - t1) \(Clock.wall() - t0) \(printed)\n"
        _ = result.withCString { write(report, $0, strlen($0)) }
        exit(0)
    } catch {
        let text = "console-print: \(error)\n"
        _ = text.withCString { write(report, $0, strlen($0)) }
        exit(1)
    }
}

private struct ConsoleBenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
