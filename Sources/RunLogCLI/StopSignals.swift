// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT or SIGTERM once `StopSignals.install()` ran.
nonisolated(unsafe) private var stopRequested: sig_atomic_t = 0

/// Ctrl-C and SIGTERM as a request to stop cleanly, for commands that run
/// until told otherwise (`dump --follow`, `demo --rate`).
enum StopSignals {
    /// Catches SIGINT and SIGTERM from now on, unblocking them in case a
    /// parent started this process with them blocked.
    static func install() {
        stopRequested = 0
        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGTERM) { _ in stopRequested = 1 }
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Restores the default actions.
    static func uninstall() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    static var requested: Bool { stopRequested != 0 }
}
