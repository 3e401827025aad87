// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import RunLog

/// Logs rows through the Swift logger into run RUN_ID under ROOT: row `s`
/// is step `s` with `a` = s and `b` = s / 2. With a ROWS count it logs that
/// many rows, finishes and exits 0; without, it logs forever. Every 1000
/// rows it calls `flush()` and then prints the last step flushed, so a
/// killer knows what must be on disk. With `RUNLOG_TESTWRITER_SAY_LOGGED=1`
/// it also prints `logged S` once step S, 500 rows past a flush, is logged
/// and not yet flushed, so a killer knows a row is pending.
///
/// `RUNLOG_TESTWRITER_SEGMENT_BYTES=N` starts a new segment every N bytes.
/// With `RUNLOG_TESTWRITER_OWN_SIGTERM=1` it installs its own SIGTERM handler
/// before starting the run, as a program that stops cleanly by itself would:
/// on SIGTERM it finishes the run as killed with the message "own handler",
/// prints "stopped" and exits 3.
func runLoggerWriter(root: String, runID: String, rows: Int64?) -> Never {
    var options = RunOptions()
    options.writeInterval = 0.05
    if let bytes = getenv("RUNLOG_TESTWRITER_SEGMENT_BYTES").flatMap({ Int64(String(cString: $0)) }) {
        options.segmentBytes = bytes
        options.frameTarget = 4096
    }
    let ownHandler = getenv("RUNLOG_TESTWRITER_OWN_SIGTERM").map { String(cString: $0) } == "1"
    if ownHandler { signal(SIGTERM) { _ in stopRequested = 1 } }
    let sayLogged = getenv("RUNLOG_TESTWRITER_SAY_LOGGED").map { String(cString: $0) } == "1"
    do {
        let run = try Run(project: "crash", name: "logger", config: ["rows": rows.map { .int($0) } ?? .null], id: runID, root: root, options: options)
        let k = run.keys("a", "b")
        var step: Int64 = 0
        while rows.map({ step < $0 }) ?? true {
            if stopRequested != 0 {
                run.finish(status: .killed, exitCode: 3, message: "own handler")
                say("stopped")
                exit(3)
            }
            run.log(k, Double(step), Double(step) / 2, step: step)
            if step % 1000 == 999 {
                try run.flush()
                say("\(step)")
            } else if sayLogged && step % 1000 == 499 {
                say("logged \(step)")
            }
            step += 1
        }
        run.finish(exitCode: 0)
        say("finished \(step)")
        exit(0)
    } catch {
        fail("runlog-testwriter: \(error)", code: 1)
    }
}

nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0
