// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few system-call helpers every module needs, in one place.
public enum SystemCall {
    /// The text of an errno value, as `strerror` gives it ("No such file or directory").
    public static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// fsyncs the directory at `path`, so that a new, renamed or removed entry
    /// in it is durable. Best effort: a directory that cannot be opened is left as it is.
    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
