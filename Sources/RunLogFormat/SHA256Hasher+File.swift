// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SHA256Hasher {
    /// The SHA-256 of the regular file at `path`, read in 1 MiB chunks; nil
    /// when it cannot be opened (`RegularFile.open`) or read.
    public static func hash(file path: String) -> [UInt8]? {
        guard let fd = try? RegularFile.open(path) else { return nil }
        defer { close(fd) }
        var hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { SystemCall.read(fd, into: $0) }
            if n < 0 { return nil }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hasher.finalize()
    }
}
