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

/// Writes `text` to descriptor `fd` at once.
private func emit(_ fd: Int32, _ text: String) {
    _ = text.withCString { write(fd, $0, strlen($0)) }
}
