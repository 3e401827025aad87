// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog

#if canImport(Glibc)
import Glibc
#endif

/// The system-metrics sampler's cost: CPU per sample (its thread's CPU time
/// from /proc/self/task over many samples at a short interval), what that
/// is per hour at the default 10 s, and whether memory grows with samples.
enum SamplerBench {
    static var benchmark: Benchmark {
        Benchmark(
            name: "sampler", summary: "system metrics: CPU per sample, % of a core at the default interval, memory over many samples",
            run: run)
    }

    static func run(quick: Bool) throws {
        let root = NSTemporaryDirectory() + "runlog-bench-sampler-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = RunOptions()
        options.systemMetricsInterval = 0.1
        options.finishOnSIGTERM = false
        let seconds = quick ? 3.0 : 60.0
        let run = try Run(project: "bench", name: "sampler", root: root, options: options)
        Thread.sleep(forTimeInterval: 1)
        let (cpu0, rss0) = (samplerCPU(), currentRSS())
        Thread.sleep(forTimeInterval: seconds)
        let (cpu1, rss1) = (samplerCPU(), currentRSS())
        run.finish()
        let samples = seconds / 0.1
        let perSample = (cpu1 - cpu0) / samples
        print("sampler: \(Int(samples)) samples at 0.1 s: \(String(format: "%.1f", perSample * 1e6)) µs CPU per sample (goal ≤ 1000 µs);"
            + " at the default 10 s: \(String(format: "%.4f", perSample / 10 * 100)) % of a core (goal ≤ 0.05 %);"
            + " RSS \(rss0 >> 10) → \(rss1 >> 10) KiB over the samples (\(Int(3600 / 10)) are an hour at 10 s)")
    }

    /// CPU seconds of the sampler's thread (named `runlog-sampler`).
    static func samplerCPU() -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for t in tasks {
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(t)/comm", encoding: .utf8),
                  comm.hasPrefix("runlog-sampler"),
                  let stat = try? String(contentsOfFile: "/proc/self/task/\(t)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let f = stat[stat.index(after: close)...].split(separator: " ")
            return ((Double(f[11]) ?? 0) + (Double(f[12]) ?? 0)) / ticks
        }
        return 0
    }

    static func currentRSS() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int(line.split(separator: " ")[1]) ?? 0) << 10
        }
        return 0
    }
}
