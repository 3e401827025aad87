// SPDX-License-Identifier: Apache-2.0
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The bound on a graceful shutdown: if the process has not ended `margin`
/// seconds after its grace time (a read stuck in a file system that does not
/// answer, a library call that ignores cancellation), it ends itself with
/// status 0. Nothing is lost: cursors are saved after every acknowledged
/// request, so the next start re-sends at most the one in flight.
enum ShutdownDeadline {
    static let margin: Double = 2

    static func arm(grace: Double, logger: Logger) {
        let seconds = grace + margin
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: seconds)
            logger.warning("not stopped \(seconds) s after SIGTERM; exiting now (cursors are saved)")
            fflush(nil)
            _exit(0)
        }
    }
}
