// SPDX-License-Identifier: Apache-2.0
import CConsoleCapture
import Foundation
import RunLayout

#if canImport(Glibc)
import Glibc
#endif

/// `RunOptions.captureConsole`: descriptors 1 and 2 become pipes that a
/// process of the logger's own reads. It passes the bytes on unchanged to
/// where they went before (the terminal, the job's output file) and writes
/// them as console records (spec/format.md §4.9) to a console log of their
/// own, `logs/a…-r…-c….rlog` (spec/run-directory.md §1), a line redrawn
/// with `\r` in its final state.
///
/// The process outlives the program: when the program dies (`kill -9`, a
/// segfault, an OOM kill) or exits, its pipes reach their end, and what
/// was printed up to the last byte is written and synced. It is made by
/// `fork` without `exec` (no installed binary needed) and runs only C code
/// that is safe after a fork in a multi-threaded process
/// (`CConsoleCapture`: no allocation, no lock, no Swift); a second process
/// writes the file, so that a slow disk never holds up the output: text the
/// writer cannot take in time (1 MiB waiting) is dropped and its byte count
/// recorded in its stream's next record (`dropped`). See
/// `runlog_console_start` for the details.
///
/// The processes share the program's memory as it was when the run started
/// (copy-on-write); of their own they map about 10 MiB before the fork and
/// touch a few MiB of it (2.4 MiB each while 50 MB were printed).
final class ConsoleCapture: @unchecked Sendable {
    /// The name of the console logs' writer.
    static let writer = "runlog-swift-console/0.1.0"

    /// The console log.
    let path: String
    private let pid: pid_t
    private let saved: (out: Int32, err: Int32)
    private let owner = getpid()
    private let lock = NSLock()
    private var stopped = false

    /// Starts capturing into a new console log of the attempt and rank;
    /// nil, with `report` told why, when it cannot (output then goes on as before).
    init?(directory: RunDirectory, runID: String, attempt: UInt64, rank: UInt64, compressionLevel: Int32,
          writeDelayMilliseconds: UInt32 = 0, report: (String) -> Void) {
        var number: UInt64 = 0
        var created: (path: String, fd: Int32)?
        while created == nil {
            let candidate = directory.logsPath + "/" + ConsoleLogName(attempt: attempt, rank: rank, number: number).fileName
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd >= 0 {
                created = (candidate, fd)
            } else if errno == EEXIST {
                number += 1
            } else {
                report("runlog: console capture is off: \(candidate): cannot create: \(String(cString: strerror(errno)))")
                return nil
            }
        }
        let (path, fd) = created!
        defer { close(fd) }
        let header = FileHeader(runID: runID, attempt: attempt, rank: rank, segment: number, created: Monitor.wallMicros(), writer: Self.writer)
        let bytes = (try? header.encoded()) ?? []
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard !bytes.isEmpty, written == bytes.count, fsync(fd) == 0 else {
            report("runlog: console capture is off: \(path): cannot write the header: \(String(cString: strerror(errno)))")
            unlink(path)
            return nil
        }
        syncDirectory(directory.logsPath)
        fflush(nil)
        var started = runlog_console_started()
        let e = runlog_console_start(fd, compressionLevel, writeDelayMilliseconds, &started)
        guard e == 0 else {
            report("runlog: console capture is off: cannot start its process: \(String(cString: strerror(e)))")
            unlink(path)
            return nil
        }
        self.path = path
        pid = started.pid
        saved = (started.saved_out, started.saved_err)
    }

    /// Puts descriptors 1 and 2 back, then waits up to `timeout` seconds for
    /// the capture to write and sync everything (it ends when no process
    /// holds the pipes any more: child processes of the program may). Only
    /// the process that started the capture stops it; later calls do nothing.
    func stop(timeout: Double = 5) {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first, getpid() == owner else { return }
        fflush(nil)
        dup2(saved.out, 1)
        dup2(saved.err, 2)
        close(saved.out)
        close(saved.err)
        let deadline = Monitor.now() + UInt64(timeout * 1e9)
        while true {
            let r = waitpid(pid, nil, WNOHANG)
            guard r == 0 || (r < 0 && errno == EINTR) else { return }  // ended (or reaped by the program)
            guard Monitor.now() < deadline else {
                let pid = self.pid  // reaped when it ends, so that it never lingers as a zombie
                let reaper = Thread { while waitpid(pid, nil, 0) < 0 && errno == EINTR {} }
                reaper.stackSize = 64 << 10
                reaper.start()
                return
            }
            usleep(2_000)
        }
    }
}
