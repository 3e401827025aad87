// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The write end of the pipe the SIGTERM handler writes to (-1 before install).
nonisolated(unsafe) private var signalPipe: Int32 = -1

/// Ends this process's runs as killed when SIGTERM arrives, then lets the
/// signal take its default course.
///
/// SIGTERM is what schedulers send before they kill a job (preemption, time
/// limit, `scancel`, `kill`). Without a handler the process dies at once: the
/// records of the last `writeInterval` are lost and readers see the run as
/// crashed. With it, the runs' last records and their run ends (`killed`,
/// exit code 143) are written and synced, and then the process ends by
/// SIGTERM as it would have, so the scheduler sees the same outcome.
///
/// Installed by the first run that asks (`RunOptions.finishOnSIGTERM`), and
/// only if SIGTERM then has its default action: a program that handles
/// SIGTERM itself keeps its handler, and calls `finish` itself. The signal
/// handler only writes a byte to a pipe; a thread reading the pipe does the rest.
final class TerminationSignal: @unchecked Sendable {
    static let shared = TerminationSignal()

    private enum State { case notInstalled, installed, declined }

    private struct WeakRun {
        weak var run: Run?
    }

    private let lock = NSLock()
    private var state = State.notInstalled
    private var runs: [ObjectIdentifier: WeakRun] = [:]

    /// Finishes `run` on SIGTERM, installing the handler if this is the first run.
    func register(_ run: Run) {
        lock.withLock {
            if state == .notInstalled { state = install() ? .installed : .declined }
            if state == .installed { runs[ObjectIdentifier(run)] = WeakRun(run: run) }
        }
    }

    func unregister(_ run: Run) {
        lock.withLock { _ = runs.removeValue(forKey: ObjectIdentifier(run)) }
    }

    private func install() -> Bool {
        var current = sigaction()
        guard sigaction(SIGTERM, nil, &current) == 0,
              unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_DFL, to: Int.self)
        else { return false }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        signalPipe = fds[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(signalPipe, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        guard sigaction(SIGTERM, &action, nil) == 0 else {
            for fd in fds { close(fd) }
            signalPipe = -1
            return false
        }
        // A signal before the thread reads waits in the pipe.
        let reader = fds[0]
        let thread = Thread { [self] in waitForSignal(reader) }
        thread.name = "runlog-sigterm"
        thread.stackSize = 256 << 10
        thread.start()
        return true
    }

    private func waitForSignal(_ fd: Int32) {
        var byte: UInt8 = 0
        while read(fd, &byte, 1) != 1 {
            if errno != EINTR { return }
        }
        let live = lock.withLock { runs.values.compactMap(\.run) }
        for run in live {
            run.finish(status: .killed, exitCode: 128 + SIGTERM, message: "SIGTERM")
        }
        // The default action now: the process ends by SIGTERM, as it would have without runlog.
        signal(SIGTERM, SIG_DFL)
        kill(getpid(), SIGTERM)
    }
}
