// SPDX-License-Identifier: Apache-2.0
// `runlog-bench checksums`: the C and library code on the hot paths, in memory —
// CRC32C (every frame), the shortest-decimal double writer (canonical JSON) —
// and SHA-256 of a checkpoint end to end: `runlog verify --checksums` on a run
// holding one file (1 GiB; 64 MiB with --quick) against `openssl dgst -sha256`
// on the same file, both with the file in the page cache, in the same run.
import CChecksums
import Foundation
import RunLog
import SeededRandom

func checksumsBench(quick: Bool) throws {
    let reps = quick ? 3 : 7
    print("checksums: medians of \(reps) (min..max), CPU time of this process unless it says wall")

    // CRC32C over 64 MiB, both paths.
    var data = [UInt8](repeating: 0, count: 64 << 20)
    var rng = SplitMix64(seed: 5)
    data.withUnsafeMutableBytes { b in
        let words = b.bindMemory(to: UInt64.self)
        for i in words.indices { words[i] = rng.next() }
    }
    var crc: UInt32 = 0, table: UInt32 = 0
    let hw = Clock.measure(repetitions: reps) { crc = data.withUnsafeBytes { CRC32C.checksum($0) } }
    let sw = Clock.measure(repetitions: reps) { table = data.withUnsafeBytes { runlog_crc32c_portable(0, $0.baseAddress, $0.count) } }
    guard crc == table else { throw BenchError("CRC32C: the instruction and the table disagree") }
    let gb = Double(data.count) / 1e9
    print("  CRC32C \(CRC32C.isHardwareAccelerated ? "instruction" : "(no instruction on this CPU)")".padding(toLength: 32, withPad: " ", startingAt: 0)
          + "\(rate(gb, hw)) GB/s;  table \(rate(gb, sw)) GB/s")

    // The double writer of canonical JSON on workload A's values (loss, accuracy, lr, grad norm).
    let w = WorkloadA(steps: quick ? 50_000 : 500_000)
    let values = w.loss + w.accuracy + w.lr + w.gradNorm
    var json = CanonicalJSON(capacity: values.count * 24)
    let doubles = Clock.measure(repetitions: reps) {
        json.output.removeAll(keepingCapacity: true)
        for v in values { json.double(v) }
    }
    print("  canonical JSON doubles".padding(toLength: 32, withPad: " ", startingAt: 0)
          + "\(rate(Double(values.count) / 1e6, doubles)) M doubles/s (\(figure(Double(json.output.count) / Double(values.count), decimals: 1)) bytes each)")
    var rows = MetricsBlock.Builder()
    for i in 0..<min(w.steps, 10_000) {
        let (a, b, c, d) = w.row(i)
        rows.append(step: Int64(i), time: 1_764_171_652_000_000 + Int64(i) * 2_500, values: [("loss", a), ("accuracy", b), ("lr", c), ("grad_norm", d)])
    }
    let block = rows.build()!
    let lines = Clock.measure(repetitions: reps) {
        json.output.removeAll(keepingCapacity: true)
        for _ in 0..<(w.steps / block.rowCount) { json.appendRows(block) }
    }
    print("  canonical JSON metrics rows".padding(toLength: 32, withPad: " ", startingAt: 0)
          + "\(rate(Double(w.steps / block.rowCount * block.rowCount) / 1e6, lines)) M rows/s (4 values each)")

    // SHA-256 in memory, then of a checkpoint file against openssl.
    let sha = Clock.measure(repetitions: reps) { _ = data.withUnsafeBytes { b in var h = SHA256Hasher(); h.update(b); return h.finalize() } }
    print("  SHA-256 in memory".padding(toLength: 32, withPad: " ", startingAt: 0) + "\(rate(gb, sha)) GB/s")
    try sha256File(bytes: quick ? 64 << 20 : 1 << 30, repetitions: quick ? 2 : 5, block: data)
}

private func rate(_ amount: Double, _ t: (median: Double, min: Double, max: Double)) -> String {
    "\(figure(amount / t.median, decimals: 2)) (\(figure(amount / t.max, decimals: 2))..\(figure(amount / t.min, decimals: 2)))"
}

/// A run whose one checkpoint is a `bytes`-long file, then `runlog verify --checksums`
/// on it and `openssl dgst -sha256` on the checkpoint, alternately.
private func sha256File(bytes: Int, repetitions: Int, block: [UInt8]) throws {
    let dir = NSTemporaryDirectory() + "runlog-bench-sha-\(getpid())"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let source = dir + "/model.bin"
    guard FileManager.default.createFile(atPath: source, contents: nil) else { throw BenchError("\(source): cannot create") }
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: source))
    var written = 0
    while written < bytes {
        let n = min(block.count, bytes - written)
        try out.write(contentsOf: block[0..<n])
        written += n
    }
    try out.close()
    var options = RunOptions()
    options.finishOnSIGTERM = false
    let run = try Run(project: "bench", id: "sha256", root: dir + "/runs", options: options)
    let saved = Clock.wall()
    try run.saveCheckpoint(name: "model", file: URL(fileURLWithPath: source))
    let saveWall = Clock.wall() - saved
    run.finish(exitCode: 0)
    try FileManager.default.removeItem(atPath: source)
    let runDir = dir + "/runs/sha256"
    let checkpoint = try FileManager.default.subpathsOfDirectory(atPath: runDir + "/checkpoints")
        .first { $0.hasSuffix("model.bin") }.map { runDir + "/checkpoints/" + $0 }!
    let runlog = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("runlog").path
    // Alternately, so that both see the same machine load; CPU time of the child is the robust figure.
    var verify: [(wall: Double, cpu: Double)] = [], openssl: [(wall: Double, cpu: Double)] = []
    for _ in 0..<repetitions {
        openssl.append(try timeChild("/usr/bin/env", ["openssl", "dgst", "-sha256", checkpoint]))
        verify.append(try timeChild(runlog, ["verify", "--checksums", runDir]))
    }
    func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
    let (vc, vw) = (median(verify.map(\.cpu)), median(verify.map(\.wall)))
    let (oc, ow) = (median(openssl.map(\.cpu)), median(openssl.map(\.wall)))
    let mib = Double(bytes) / Double(1 << 20)
    func line(_ name: String, _ cpu: Double, _ wall: Double) -> String {
        "    \(name.padding(toLength: 29, withPad: " ", startingAt: 0))cpu \(String(format: "%.3f", cpu)) s = \(figure(Double(bytes) / cpu / 1e9, decimals: 2)) GB/s;"
            + " wall \(String(format: "%.3f", wall)) s = \(figure(Double(bytes) / wall / 1e9, decimals: 2)) GB/s"
    }
    print("  SHA-256 of a \(figure(mib)) MiB checkpoint in the page cache, medians of \(repetitions):")
    print(line("runlog verify --checksums", vc, vw))
    print(line("openssl dgst -sha256", oc, ow))
    print("    ratio                        runlog verify at \(figure(oc / vc, decimals: 2))x openssl's throughput"
          + " (CPU; wall \(figure(ow / vw, decimals: 2))x)  [target >= 0.8x]")
    print("    Run.saveCheckpoint           \(String(format: "%.3f", saveWall)) s (copy, hash and fsync, once)")
}

/// Wall and CPU seconds of one run of a program, its output to /dev/null.
private func timeChild(_ path: String, _ args: [String]) throws -> (wall: Double, cpu: Double) {
    let t = try measureChild(1) { try runChild(path, args) }
    return (t.wall.median, t.cpu.median)
}

private struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
