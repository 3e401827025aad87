// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file fcntl write locks, as the liveness files and syncd's state
/// directory use them.
public enum FileLock {
    /// The `flock` structure covering the whole file, of `type` (`F_WRLCK`, `F_UNLCK`, …).
    public static func whole(_ type: Int32) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0
        return lock
    }

    /// Takes a write lock on the whole file without waiting: an
    /// open-file-description lock where there is one (Linux; it conflicts
    /// with other descriptions even in this process, and goes when the
    /// descriptor is closed), else a POSIX lock. False when another holds it
    /// (`errno` says why).
    public static func tryWriteLock(_ fd: Int32) -> Bool {
        var lock = whole(F_WRLCK)
        #if os(Linux)
        if fcntl(fd, 37 /* F_OFD_SETLK */, &lock) == 0 { return true }
        if errno == EAGAIN || errno == EACCES { return false }
        #endif
        return fcntl(fd, F_SETLK, &lock) == 0
    }
}
