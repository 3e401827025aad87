// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import RunLog

/// Starts run RUN_ID under ROOT with console capture, prints 100 lines on
/// standard output, a progress bar redrawn with `\r` on standard error, a
/// line from a child process and a partial line, then finishes and prints
/// "after finish" (not captured).
func runConsoleWriter(root: String, runID: String) -> Never {
    var options = RunOptions()
    options.captureConsole = true
    do {
        let run = try Run(project: "console", id: runID, root: root, options: options)
        for i in 0..<100 { print("line \(i) é") }
        fflush(nil)
        for i in 0...10 { emit(2, "\rtrain: \(i * 10)%") }
        emit(2, "\n")
        system("echo from a child process")
        print("no newline", terminator: "")
        fflush(nil)
        run.finish()
        print("after finish")
        exit(0)
    } catch {
        fail("runlog-testwriter: \(error)")
    }
}

/// Starts run RUN_ID under ROOT with console capture (the default write
/// interval, 1 s) and writes `line N at MS\n` to standard output every 20 ms,
/// forever, N from 0, MS the wall clock in milliseconds: a process for a
/// test to kill, that tells from the log which lines a hard death lost.
func runConsoleForever(root: String, runID: String) -> Never {
    var options = RunOptions()
    options.captureConsole = true
    do {
        let run = try Run(project: "console", id: runID, root: root, options: options)
        _ = run
        var n = 0
        while true {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            emit(1, "line \(n) at \(Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000)\n")
            n += 1
            usleep(20_000)
        }
    } catch {
        fail("runlog-testwriter: \(error)")
    }
}

/// Writes `text` to descriptor `fd` at once.
private func emit(_ fd: Int32, _ text: String) {
    _ = text.withCString { write(fd, $0, strlen($0)) }
}
