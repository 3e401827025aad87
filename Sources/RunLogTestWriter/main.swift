// runlog-testwriter MODE ARGS…: a process for crash tests to kill.
//   format PATH   append frames of metrics rows to a new log at PATH, forever;
//                 after each frame is written, print its end offset on stdout.
#if canImport(Glibc)
import Glibc
#endif

setvbuf(stdout, nil, _IOLBF, 0)
let args = CommandLine.arguments
guard args.count >= 2 else {
    fputs("usage: runlog-testwriter format PATH\n", stderr)
    exit(2)
}
switch args[1] {
case "format":
    guard args.count == 3 else { fputs("usage: runlog-testwriter format PATH\n", stderr); exit(2) }
    runFormatWriter(path: args[2])
default:
    fputs("runlog-testwriter: unknown mode '\(args[1])'\n", stderr)
    exit(2)
}
