// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import RunLog

/// Checks that the files the checkpoint records of a run name are there,
/// with the size (and, when asked, the SHA-256) their records hold.
enum CheckpointCheck {
    /// One line per problem, each naming the file.
    static func problems(run: RunDirectory, checkpoints: [Checkpoint], checksums: Bool) -> [String] {
        var out: [String] = []
        for c in checkpoints {
            let path = run.path + "/" + c.path
            let what = "checkpoint \"\(c.name)\" of step \(c.step)"
            guard Checkpoint.isValidPath(c.path) else {
                out.append("\(run.path): \(what): invalid path \"\(c.path)\"")
                continue
            }
            do {
                _ = try run.checkpointFile(c.path)
            } catch {
                // A missing or unreadable file reads like the size and hash problems below;
                // a refused one (a link out of the run, not a regular file) says why.
                if let e = error.errno {
                    out.append("\(path): \(what): \(SystemCall.errorText(e))")
                } else {
                    out.append("\(what): \(error.message)")
                }
                continue
            }
            guard let size = LogInput.fileSize(path) else {
                out.append("\(path): \(what): \(SystemCall.errorText(errno))")
                continue
            }
            guard size == Int64(c.size) else {
                out.append("\(path): \(what): \(size) bytes, its record says \(c.size)")
                continue
            }
            if checksums {
                switch SHA256Hasher.hash(file: path) {
                case .some(let digest) where digest == c.sha256: break
                case .some: out.append("\(path): \(what): SHA-256 differs from its record")
                case .none: out.append("\(path): \(what): cannot read: \(SystemCall.errorText(errno))")
                }
            }
        }
        return out
    }
}
