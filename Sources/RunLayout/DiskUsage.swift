// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a directory tree holds on disk, for `runlog ls` and `syncd clean`.
public enum DiskUsage {
    /// The total size of the regular files under `path` and the newest
    /// modification time of anything in it (seconds since the epoch).
    /// Symbolic links are not followed; directories deeper than 16 levels are not entered.
    public static func of(_ path: String) -> (bytes: Int64, newest: Double) {
        var bytes: Int64 = 0
        var newest: Double = 0
        var pending = [(path, 0)]
        while let (current, depth) = pending.popLast() {
            var st = stat()
            guard lstat(current, &st) == 0 else { continue }
            newest = max(newest, Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) * 1e-9)
            switch st.st_mode & S_IFMT {
            case S_IFREG: bytes += Int64(st.st_size)
            case S_IFDIR where depth <= 16:
                guard let dir = opendir(current) else { continue }
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                    }
                    if name != "." && name != ".." { pending.append((current + "/" + name, depth + 1)) }
                }
                closedir(dir)
            default: break
            }
        }
        return (bytes, newest)
    }
}
