// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// A mutex with condition variables whose timed waits use the monotonic clock.
/// Internal plumbing of the background writer; not reentrant.
final class Monitor: @unchecked Sendable {
    /// A condition variable tied to its monitor's mutex.
    final class Condition: @unchecked Sendable {
        fileprivate let cond: UnsafeMutablePointer<pthread_cond_t>

        fileprivate init() {
            cond = .allocate(capacity: 1)
            var attr = pthread_condattr_t()
            pthread_condattr_init(&attr)
            pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
            pthread_cond_init(cond, &attr)
            pthread_condattr_destroy(&attr)
        }

        deinit {
            pthread_cond_destroy(cond)
            cond.deallocate()
        }

        /// Wakes one waiter.
        func signal() { pthread_cond_signal(cond) }
        /// Wakes every waiter.
        func broadcast() { pthread_cond_broadcast(cond) }
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func makeCondition() -> Condition { Condition() }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits on `condition` (the mutex held) until signalled or until the
    /// monotonic clock reaches `deadline` nanoseconds; nil waits without limit.
    func wait(_ condition: Condition, until deadline: UInt64? = nil) {
        guard let deadline else {
            pthread_cond_wait(condition.cond, mutex)
            return
        }
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_cond_timedwait(condition.cond, mutex, &ts)
    }

    /// Now on the monotonic clock, in nanoseconds.
    @inline(__always) static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Now on the wall clock, in microseconds since the Unix epoch.
    @inline(__always) static func wallMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000 &+ Int64(ts.tv_nsec / 1000)
    }

    static func nanos(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }
}
