// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog

#if canImport(Glibc)
import Glibc
#endif

/// The Swift logger: what a `log` call costs the training thread, and how
/// many scalar points per second reach compressed bytes on disk.
struct LoggerBench {
    static var benchmark: Benchmark {
        Benchmark(
            name: "logger", summary: "Run.log caller cost (ns per call) and sustained points/s to disk",
            run: { quick in try LoggerBench(quick: quick).run() })
    }

    let quick: Bool

    func run() throws {
        let root = NSTemporaryDirectory() + "runlog-bench-\(getpid())"
        defer { if ProcessInfo.processInfo.environment["RUNLOG_BENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) } }
        print("logger: caller-side cost of one log call with 4 scalars (median and p99 of 1000-call batches)")
        try callerCost(root: root)
        print("logger: sustained throughput, 4 and 16 scalars per row, one thread, through to synced compressed bytes on disk")
        try throughput(root: root, keys: 4)
        try throughput(root: root, keys: 16)
    }

    private func callerCost(root: String) throws {
        var options = RunOptions()
        options.mode = .enabled
        let run = try Run(id: "cost", root: root, options: options)
        let k = run.keys("loss", "acc", "lr", "grad_norm")
        let batches = quick ? 20 : 2000
        var fast: [Double] = []
        var dict: [Double] = []
        var step: Int64 = 0
        var curve = Curve()
        for _ in 0..<batches {
            let (a, b, c, d) = (curve.next(), curve.next(), 0.001, curve.next())
            var t0 = Monitor.now()
            for _ in 0..<1000 {
                run.log(k, a, b, c, d, step: step)
                step += 1
            }
            fast.append(Double(Monitor.now() - t0) / 1000)
            t0 = Monitor.now()
            for _ in 0..<1000 {
                run.log(["loss": a, "acc": b, "lr": c, "grad_norm": d], step: step)
                step += 1
            }
            dict.append(Double(Monitor.now() - t0) / 1000)
        }
        run.finish()
        report("  keys fast path  run.log(k, a, b, c, d, step:)", fast)
        report("  dictionary      run.log([\"loss\": a, …], step:)", dict)
        let s = run.stats
        print("  rows logged \(s.logged - 2), dropped \(s.droppedRows)")
    }

    private func report(_ label: String, _ samples: [Double]) {
        let sorted = samples.sorted()
        let median = sorted[sorted.count / 2]
        let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
        print("\(label): median \(String(format: "%.0f", median)) ns, p99 \(String(format: "%.0f", p99)) ns per call")
    }

    private func throughput(root: String, keys: Int) throws {
        var options = RunOptions()
        options.mode = .enabled
        options.memoryCap = 64 << 20
        let run = try Run(id: "throughput\(keys)", root: root, options: options)
        let k = run.keys((0..<keys).map { "train/metric\($0)" })
        let rows = (quick ? 200_000 : 20_000_000) / keys
        var curves = (0..<keys).map { _ in Curve() }
        var values = [Double](repeating: 0, count: keys)
        let rssBefore = Self.peakRSS()
        let cpu0 = Self.cpu(CLOCK_PROCESS_CPUTIME_ID)
        let caller0 = Self.cpu(CLOCK_THREAD_CPUTIME_ID)
        let t0 = Monitor.now()
        for step in 0..<rows {
            for j in 0..<keys { values[j] = curves[j].next() }
            values.withUnsafeBufferPointer { run.log(k, values: $0, step: Int64(step)) }
        }
        let logged = Monitor.now()
        let callerCPU = Self.cpu(CLOCK_THREAD_CPUTIME_ID) - caller0
        run.finish()
        let done = Monitor.now()
        let writerCPU = Self.cpu(CLOCK_PROCESS_CPUTIME_ID) - cpu0 - callerCPU
        let points = Double(rows * keys)
        let bytes = (try? FileManager.default.attributesOfItem(atPath: run.logPath!)[.size] as? Int) ?? 0
        let seconds = Double(done - t0) / 1e9
        print(
            "  \(keys) keys: \(rows * keys) points in \(String(format: "%.2f", seconds)) s = \(String(format: "%.1f", points / seconds / 1e6)) M points/s"
                + " (callers done after \(String(format: "%.2f", Double(logged - t0) / 1e9)) s), \(String(format: "%.2f", Double(bytes) / points)) bytes/point on disk,"
                + " peak RSS +\((Self.peakRSS() - rssBefore) >> 20) MiB (cap \(options.memoryCap >> 20) MiB)")
        print(
            "    CPU per point: caller \(String(format: "%.1f", callerCPU / points * 1e9)) ns, writer \(String(format: "%.1f", writerCPU / points * 1e9)) ns"
                + " = \(String(format: "%.1f", points / writerCPU / 1e6)) M points per writer CPU-second")
    }

    /// CPU seconds of the process or of the calling thread.
    static func cpu(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The peak resident set size of this process, in bytes.
    static func peakRSS() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (Int(line.split(separator: " ")[1]) ?? 0) << 10
        }
        return 0
    }
}

/// A noisy decaying training curve, so that the bytes on disk are realistic.
struct Curve {
    private var x = Double.random(in: 1...3)
    private var state = UInt64.random(in: 1...UInt64.max)

    mutating func next() -> Double {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        let noise = Double(state >> 11) / Double(1 << 53) - 0.5
        x = x * 0.99999 + noise * 0.001
        return x
    }
}

/// The monotonic clock, in nanoseconds.
enum Monitor {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
