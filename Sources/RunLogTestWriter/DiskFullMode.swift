// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import RunLog

/// Logs through the Swift logger onto a disk the test fills, to measure the
/// logger's memory while the disk is full. With GATE a directory of its own:
/// 1. starts run RUN_ID under ROOT with `memoryCap` = CAP bytes, flushes,
///    and prints `ready <VmRSS KiB>`;
/// 2. waits for GATE/full (the test has filled the disk), logs ROWS rows of
///    two keys without flushing, and prints `logged <VmHWM KiB> <dropped rows>`;
/// 3. waits for GATE/free (space is back), finishes the run and prints
///    `finished <dropped rows>`.
func runDiskFullWriter(root: String, runID: String, rows: Int64, cap: Int, gate: String) -> Never {
    var options = RunOptions()
    options.writeInterval = 0.05
    options.retryInterval = 0.05
    options.memoryCap = cap
    options.onError = { _ in }
    options.systemMetricsInterval = 0  // the rows counted are the ones logged here
    do {
        let run = try Run(project: "diskfull", id: runID, root: root, options: options)
        let k = run.keys("a", "b")
        try run.flush()
        say("ready \(status("VmRSS"))")
        waitFor(gate + "/full")
        for step in 0..<rows { run.log(k, Double(step), Double(step) / 2, step: step) }
        say("logged \(status("VmHWM")) \(run.stats.droppedRows)")
        waitFor(gate + "/free")
        run.finish(exitCode: 0)
        say("finished \(run.stats.droppedRows)")
        exit(0)
    } catch {
        fail("runlog-testwriter: \(error)", code: 1)
    }
}

private func waitFor(_ path: String) {
    while access(path, F_OK) != 0 { usleep(10_000) }
}

/// A field of /proc/self/status in KiB (VmRSS: resident now, VmHWM: the peak).
private func status(_ field: String) -> Int {
    guard let f = fopen("/proc/self/status", "r") else { return -1 }
    defer { fclose(f) }
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, Int32(line.count), f) != nil {
        let text = String(cString: line)
        if text.hasPrefix(field + ":") {
            let number = text.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return Int(number ?? "") ?? -1
        }
    }
    return -1
}
