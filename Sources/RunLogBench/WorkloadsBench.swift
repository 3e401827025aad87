// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import SeededRandom

/// `runlog-bench workloads`: the Swift logger writing workload A (steps × 4
/// float64 scalars through `Run.log`) and workload B (64-bin histograms of
/// 100,000 float32 values through `Run.logHistogram`) to a run directory, for
/// tools/bench, which runs it once per repetition next to the same workloads
/// written by tensorboardX, W&B and the Python client.
///
/// Each measurement prints one line, `result {json}`, with the CPU time of
/// the whole process (caller and background writer) and the wall time from
/// the first call to `finish()` returning (data on disk, fsynced), and the
/// size of the log. Creating the run and preparing the data are not timed.
///
/// Environment: `RUNLOG_BENCH_STEPS` (workload A steps; default 200,000, or
/// 20,000 with --quick), `RUNLOG_BENCH_HISTOGRAMS` (workload B count; 2,000
/// or 50), `RUNLOG_BENCH_DIR` (where the runs are written and kept; default a
/// temporary directory removed at the end), `RUNLOG_BENCH_ONLY` (`a` or `b`).
func workloadsBench(quick: Bool) throws {
    let env = ProcessInfo.processInfo.environment
    let steps = env["RUNLOG_BENCH_STEPS"].flatMap(Int.init) ?? (quick ? 20_000 : 200_000)
    let histograms = env["RUNLOG_BENCH_HISTOGRAMS"].flatMap(Int.init) ?? (quick ? 50 : 2_000)
    let only = env["RUNLOG_BENCH_ONLY"] ?? ""
    let keep = env["RUNLOG_BENCH_DIR"]
    let root = keep ?? NSTemporaryDirectory() + "runlog-bench-workloads-\(getpid())"
    defer { if keep == nil { try? FileManager.default.removeItem(atPath: root) } }

    if only != "b" {
        let w = WorkloadA(steps: steps)
        let run = try Run(project: "bench", name: "workload-a", id: "workload-a-\(getpid())", root: root)
        let k = run.keys(WorkloadA.keys)
        let (wall, cpu) = (Clock.wall(), Clock.cpu())
        for i in 0..<steps {
            let (a, b, c, d) = w.row(i)
            run.log(k, a, b, c, d, step: Int64(i))
        }
        try finish(run)
        report(workload: "A", items: steps * 4, cpu: Clock.cpu() - cpu, wall: Clock.wall() - wall, run: run)
    }
    if only != "a" {
        // A pool of distinct weight arrays that drift as "training" goes on,
        // cycled through, so that generating them is not timed.
        let base = weights(count: 100_000, seed: 3)
        var rng = SplitMix64(seed: 9)
        let pool: [[Float]] = (0..<min(histograms, 200)).map { i in
            let scale = Float(1 + Double(i) / 200)
            let noise = Float(0.002 + 0.01 * Double(i) / 200)
            return base.map { $0 * scale + noise * Float(rng.uniform() - 0.5) }
        }
        let run = try Run(project: "bench", name: "workload-b", id: "workload-b-\(getpid())", root: root)
        let (wall, cpu) = (Clock.wall(), Clock.cpu())
        for i in 0..<histograms {
            run.logHistogram("grads/fc1.weight", values: pool[i % pool.count], bins: 64, step: Int64(i))
        }
        try finish(run)
        report(workload: "B", items: histograms, cpu: Clock.cpu() - cpu, wall: Clock.wall() - wall, run: run)
    }
}

private struct WorkloadsBenchError: Error, CustomStringConvertible {
    var description: String
}

private func finish(_ run: Run) throws {
    guard run.finish() else { throw WorkloadsBenchError(description: "finish() did not make the log durable: \(run.stats)") }
    let s = run.stats
    if s.droppedRows + s.droppedPoints + s.droppedRecords > 0 {
        throw WorkloadsBenchError(description: "the logger dropped data: \(s)")
    }
}

private func report(workload: String, items: Int, cpu: Double, wall: Double, run: Run) {
    let path = run.logPath ?? ""
    let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    print(
        "result {\"workload\":\"\(workload)\",\"items\":\(items),\"cpu_s\":\(cpu),\"wall_s\":\(wall),"
            + "\"bytes\":\(bytes),\"path\":\"\(path)\"}")
}
