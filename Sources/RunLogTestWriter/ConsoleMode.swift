// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import RunLog

/// Starts run RUN_ID under ROOT with console capture, prints 100 lines on
/// standard output, a progress bar redrawn with `\r` on standard error, a
/// line from a child process and a partial line, then finishes and prints
/// "after finish" (not captured) and how many of its child processes are
/// left (the capture's, reaped by `finish`: 0).
func runConsoleWriter(root: String, runID: String) -> Never {
    let run = capturedRun(root, runID)
    for i in 0..<100 { print("line \(i) é") }
    fflush(nil)
    for i in 0...10 { emit(2, "\rtrain: \(i * 10)%") }
    emit(2, "\n")
    system("echo from a child process")
    print("no newline", terminator: "")
    fflush(nil)
    run.finish()
    print("after finish")
    print("children after finish: \(childProcesses())")
    exit(0)
}

/// Starts run RUN_ID under ROOT with console capture, prints 300 numbered
/// lines on standard output and 30 on standard error, then a last line with
/// no newline on each, and ends as HOW says at once after the last byte:
/// `kill9` (SIGKILL to itself), `segv` (SIGSEGV), `exit` (exit(0) without
/// `finish`), `child` (a child process prints two more lines 0.3 s later,
/// after this process's SIGKILL).
func runConsoleEnd(root: String, runID: String, how: String) -> Never {
    let run = capturedRun(root, runID)
    for i in 0..<300 {
        print("out \(i) ü")
        if i % 10 == 0 { emit(2, "err \(i / 10)\n") }
    }
    fflush(nil)
    if how == "child", system("(sleep 0.3; echo from the child; printf 'the child is done') &") != 0 {
        fail("runlog-testwriter: cannot start the child")
    }
    emit(2, "last on stderr")
    emit(1, "last on stdout")
    withExtendedLifetime(run) {
        switch how {
        case "kill9", "child": _ = kill(getpid(), SIGKILL)
        case "segv": _ = raise(SIGSEGV)
        case "exit": exit(0)
        default: fail("runlog-testwriter: unknown end '\(how)'")
        }
    }
    fail("runlog-testwriter: still here after '\(how)'")
}

/// Starts run RUN_ID under ROOT with console capture, writes "ready\n" to
/// standard error and waits for a byte on standard input; then writes MB
/// megabytes of numbered 100-byte lines (`floodLine`) to standard output as
/// fast as it can, waits for the end of its standard input, and exits.
func runConsoleFlood(root: String, runID: String, megabytes: Int) -> Never {
    let run = capturedRun(root, runID)
    readyThenWait(2)
    let lines = megabytes * 10_000
    var block: [UInt8] = []
    block.reserveCapacity(64 << 10)
    for i in 0..<lines {
        block += floodLine(i)
        if block.count >= 60_000 || i == lines - 1 {
            block.withUnsafeBytes { writeAll(1, $0) }
            block.removeAll(keepingCapacity: true)
        }
    }
    var byte: UInt8 = 0
    while read(0, &byte, 1) > 0 {}
    withExtendedLifetime(run) { exit(0) }
}

/// Starts run RUN_ID under ROOT with console capture, prints "ready\n" and
/// waits for a byte on standard input (meanwhile a test signals the capture
/// processes), then prints "after the signals\n" and "the end" and sends
/// itself SIGKILL.
func runConsoleSignals(root: String, runID: String) -> Never {
    let run = capturedRun(root, runID)
    readyThenWait(1)
    emit(1, "after the signals\n")
    emit(1, "the end")
    withExtendedLifetime(run) { _ = kill(getpid(), SIGKILL) }
    fail("runlog-testwriter: still here after SIGKILL")
}

/// Starts run RUN_ID under ROOT with console capture, prints "before
/// finish\n", starts a child process that holds the pipes for 6 s and then
/// prints "the child is done\n", and finishes: prints (not captured) how
/// many milliseconds `finish` took, waits until the child is done, and
/// prints how many child processes it has left (0: the capture was reaped).
func runConsoleHeld(root: String, runID: String) -> Never {
    let run = capturedRun(root, runID)
    print("before finish")
    fflush(nil)
    if system("(sleep 6; echo the child is done) &") != 0 { fail("runlog-testwriter: cannot start the child") }
    let start = monotonicMilliseconds()
    run.finish()
    print("finish returned after \(monotonicMilliseconds() - start) ms")
    fflush(nil)
    usleep(2_500_000)
    print("children after the child: \(childProcesses())")
    exit(0)
}

private func monotonicMilliseconds() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
}

/// Starts run RUN_ID under ROOT with console capture, prints "step 1"
/// with no newline, waits 1.5 s (the partial line is recorded after 1 s),
/// redraws it with "\rstep 2\rstep 3\n", prints "done\n" and finishes.
func runConsolePartial(root: String, runID: String) -> Never {
    let run = capturedRun(root, runID)
    emit(1, "step 1")
    usleep(1_500_000)
    emit(1, "\rstep 2\rstep 3\n")
    emit(1, "done\n")
    run.finish()
    exit(0)
}

/// Starts run RUN_ID under ROOT with console capture while only FREE
/// descriptors are free (the others taken up to a limit of 256), so that the
/// capture cannot start; then frees them, prints "printed as before\n" and
/// finishes.
func runConsoleNoDescriptors(root: String, runID: String, free: Int) -> Never {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    getrlimit(resource, &limit)
    limit.rlim_cur = min(256, limit.rlim_max)
    setrlimit(resource, &limit)
    var taken: [Int32] = []
    while case let fd = open("/dev/null", O_RDONLY), fd >= 0 { taken.append(fd) }
    for _ in 0..<min(free, taken.count) { close(taken.removeLast()) }
    var options = RunOptions()
    options.captureConsole = true
    options.systemMetricsInterval = 0
    options.recordsEnvironment = false
    options.finishOnSIGTERM = false
    let started = Result { try Run(project: "console", id: runID, root: root, options: options) }
    for fd in taken { close(fd) }
    guard case .success(let run) = started else { fail("runlog-testwriter: the run did not start with \(free) descriptors free") }
    emit(1, "printed as before\n")
    run.finish()
    exit(0)
}

/// Starts run RUN_ID under ROOT with console capture, copies each read of
/// its standard input to its standard output as it comes, and finishes at
/// the input's end.
func runConsoleStdin(root: String, runID: String) -> Never {
    let run = capturedRun(root, runID)
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while case let n = read(0, &buffer, buffer.count), n > 0 {
        buffer[0..<n].withUnsafeBytes { writeAll(1, $0) }
    }
    run.finish()
    exit(0)
}

/// Line `i` of `console-flood`.
func floodLine(_ i: Int) -> [UInt8] {
    var s = Array("floodline \(i)".utf8)
    s += [UInt8](repeating: UInt8(ascii: "."), count: 99 - s.count)
    s.append(0x0A)
    return s
}

/// Starts run RUN_ID under ROOT with console capture and writes, 50 ms
/// apart so that each is a read of its own, pieces of text that cut
/// characters and hold bytes that are not UTF-8 (see `consoleBytePieces`), then finishes.
func runConsoleBytes(root: String, runID: String) -> Never {
    let run = capturedRun(root, runID)
    for piece in consoleBytePieces {
        piece.withUnsafeBytes { writeAll(1, $0) }
        usleep(50_000)
    }
    run.finish()
    exit(0)
}

/// The pieces `console-bytes` writes: `é`, `✓` and `😀` cut between pieces;
/// an invalid byte, an overlong form, a surrogate, a code point past
/// U+10FFFF, a stray continuation byte, a character cut by an invalid
/// byte, and a character left incomplete at the end.
let consoleBytePieces: [[UInt8]] = [
    Array("caf".utf8) + [0xC3], [0xA9] + Array(" ok ".utf8) + [0xE2, 0x9C], [0x93, 0xF0, 0x9F], [0x98, 0x80, 0x0A],
    [0xFF, 0x61, 0xC0, 0x80, 0x62, 0xED, 0xA0, 0x80, 0x63, 0xF4, 0x90, 0x80, 0x80, 0x64, 0x80, 0x0A],
    [0xE2, 0x82], [0x78, 0x0A], Array("end ".utf8) + [0xE2, 0x82],
]

/// Run RUN_ID under ROOT with console capture; the process ends when it cannot start.
private func capturedRun(_ root: String, _ runID: String) -> Run {
    var options = RunOptions()
    options.captureConsole = true
    options.systemMetricsInterval = 0
    do {
        return try Run(project: "console", id: runID, root: root, options: options)
    } catch {
        fail("runlog-testwriter: \(error)")
    }
}

/// Writes "ready\n" to `fd`, then waits for a byte on standard input.
private func readyThenWait(_ fd: Int32) {
    emit(fd, "ready\n")
    var byte: UInt8 = 0
    guard read(0, &byte, 1) == 1 else { fail("runlog-testwriter: no go") }
}

/// The number of this process's child processes, from /proc.
private func childProcesses() -> Int {
    guard let dir = opendir("/proc") else { return -1 }
    defer { closedir(dir) }
    var n = 0
    let me = getpid()
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let pid = Int32(name), let stat = readSmallFile("/proc/\(pid)/stat") else { continue }
        // pid (comm) state ppid …: the fields after the last ')'.
        guard let close = stat.lastIndex(of: ")") else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, Int32(fields[1]) == me { n += 1 }
    }
    return n
}

private func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = read(fd, &buffer, buffer.count)
    return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
}

/// Writes `text` to descriptor `fd` at once.
private func emit(_ fd: Int32, _ text: String) {
    _ = text.withCString { write(fd, $0, strlen($0)) }
}

private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
    var at = 0
    while at < bytes.count {
        let n = write(fd, bytes.baseAddress! + at, bytes.count - at)
        if n <= 0 { fail("runlog-testwriter: write failed") }
        at += n
    }
}
