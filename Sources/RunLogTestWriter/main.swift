// SPDX-License-Identifier: Apache-2.0
// runlog-testwriter MODE ARGS…: a process for crash tests to kill.
//   format PATH   append frames of metrics rows to a new log at PATH, forever;
//                 after each frame is written, print its end offset on stdout.
//   logger ROOT RUN_ID [ROWS]  log rows through the Swift logger (see LoggerMode.swift).
//   console ROOT RUN_ID  print through the logger's console capture (see ConsoleMode.swift).
//   diskfull ROOT RUN_ID ROWS CAP GATE  log onto a disk the test fills (see DiskFullMode.swift).
//   console-end ROOT RUN_ID HOW  print with capture, then end by kill9, segv, exit or child (see ConsoleMode.swift).
//   console-flood ROOT RUN_ID MB  print MB megabytes with capture as fast as possible.
//   console-bytes ROOT RUN_ID  print cut characters and bytes that are not UTF-8 with capture.
//   console-signals ROOT RUN_ID  print with capture before and after a test signals the capture processes.
//   console-held ROOT RUN_ID  finish while a child process still holds the capture's pipes.
//   console-partial ROOT RUN_ID  a partial line recorded, then redrawn with \r.
//   console-nofds ROOT RUN_ID FREE  start a run with capture while only FREE descriptors are free.
//   console-stdin ROOT RUN_ID  copy standard input to standard output with capture.
#if canImport(Glibc)
import Glibc
#endif


func fail(_ message: String, code: Int32 = 2) -> Never {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(code)
}

/// Prints a line and flushes it at once, so that a killer reading the pipe
/// knows what was written before the kill.
func say(_ line: String) {
    print(line)
    fflush(nil)
}
let args = CommandLine.arguments
// A job starts with SIGTERM and SIGINT deliverable; a test runner that
// blocks them in its threads would pass that mask on to this process.
var deliverable = sigset_t()
sigemptyset(&deliverable)
sigaddset(&deliverable, SIGTERM)
sigaddset(&deliverable, SIGINT)
pthread_sigmask(SIG_UNBLOCK, &deliverable, nil)
guard args.count >= 2 else {
    fail("usage: runlog-testwriter format PATH")
}
switch args[1] {
case "format":
    guard args.count == 3 else { fail("usage: runlog-testwriter format PATH") }
    runFormatWriter(path: args[2])
case "console": runConsoleWriter(root: args.count > 2 ? args[2] : "", runID: args.count > 3 ? args[3] : "")
case "console-end" where args.count == 5: runConsoleEnd(root: args[2], runID: args[3], how: args[4])
case "console-flood" where args.count == 5: runConsoleFlood(root: args[2], runID: args[3], megabytes: Int(args[4]) ?? 1)
case "console-bytes" where args.count == 4: runConsoleBytes(root: args[2], runID: args[3])
case "console-signals" where args.count == 4: runConsoleSignals(root: args[2], runID: args[3])
case "console-held" where args.count == 4: runConsoleHeld(root: args[2], runID: args[3])
case "console-partial" where args.count == 4: runConsolePartial(root: args[2], runID: args[3])
case "console-stdin" where args.count == 4: runConsoleStdin(root: args[2], runID: args[3])
case "console-nofds" where args.count == 5: runConsoleNoDescriptors(root: args[2], runID: args[3], free: Int(args[4]) ?? 0)
case "logger": runLoggerWriter(root: args.count > 2 ? args[2] : "", runID: args.count > 3 ? args[3] : "", rows: args.count > 4 ? Int64(args[4]) : nil)
case "diskfull":
    guard args.count == 7, let rows = Int64(args[4]), let cap = Int(args[5]) else {
        fail("usage: runlog-testwriter diskfull ROOT RUN_ID ROWS CAP GATE")
    }
    runDiskFullWriter(root: args[2], runID: args[3], rows: rows, cap: cap, gate: args[6])
default:
    fail("runlog-testwriter: unknown mode '\(args[1])'")
}
