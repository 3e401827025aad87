// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

#if canImport(Glibc)
import Glibc
#endif

/// Files the user saved in the run directory, uploaded as artifacts
/// `files/<path>` like W&B's run files (spec/run-directory.md §7).
///
/// A file is uploaded once it has stopped changing (its modification time
/// `stableAfter` seconds old, or its size and modification time seen
/// unchanged for that long) and at the run's end; again
/// when it changes later (the latest version wins); not at all when it is
/// deleted first. Its SHA-256 is computed first and checked while it is
/// streamed, and its size and modification time after: a file that changes
/// while it is hashed or uploaded is not recorded as uploaded (an upload
/// whose bytes differ is aborted) and is tried again once stable, after the
/// run's end too, so that the artifact and the recorded hash are of its
/// latest version. Nothing outside the run directory is read: a symbolic
/// link that leads out is refused. runlog's own files (`logs/`,
/// `checkpoints/`, names starting with `.`) are never uploaded here.
final class RunFiles {
    var stableAfter = 2.0
    var scanInterval = 2.0
    /// At most this many files are looked at per run.
    static let maxFiles = 10_000
    static let policyFile = ".runlog-save.json"

    private var seen: [String: (size: Int64, mtime: Int64, since: Double)] = [:]
    private var lastScan = -Double.infinity
    private var scannedEnded = false
    private var refused: Set<String> = []
    /// Files seen changing while hashed or uploaded: uploaded once stable, even after the run's end.
    private var changing: Set<String> = []
    /// Seconds until a file waiting to be stable is due; nil when none waits.
    private(set) var nextDue: Double?

    /// Uploads the next file that is due; false when none is.
    func advance(_ directory: RunDirectory, state: inout RunState, client: MLflowClient, now: Double, ended: Bool,
                 logger: (String) -> Void) throws(SyncError) -> Bool {
        if now - lastScan < scanInterval && !(ended && !scannedEnded) { return false }
        nextDue = nil
        let policies = Self.policies(directory)
        let files = Self.list(directory.path)
        for rel in files {
            let full = directory.path + "/" + rel
            guard let source = allowed(full, base: directory.path, rel: rel, logger: logger) else { continue }
            var st = stat()
            guard stat(source, &st) == 0 else {  // deleted meanwhile
                changing.remove(rel)
                continue
            }
            let size = Int64(st.st_size), mtime = Self.nanoseconds(st.st_mtim)
            if let sent = state.files[rel], sent.size == size, sent.mtime == mtime { continue }
            let policy = Self.policy(for: rel, policies)
            if policy == "end" && !ended { continue }
            if policy == "now" && state.files[rel] != nil { continue }
            let age = Date().timeIntervalSince1970 - Double(mtime) / 1e9
            if (!ended || changing.contains(rel)) && age < stableAfter {
                if let s = seen[rel], s.size == size, s.mtime == mtime {
                    let wait = s.since + stableAfter - now
                    if wait > 0 { nextDue = min(nextDue ?? wait, wait); continue }
                } else {
                    seen[rel] = (size, mtime, now)
                    nextDue = min(nextDue ?? stableAfter, stableAfter)
                    continue
                }
            }
            guard let digest = SHA256Hasher.hash(file: source), Self.unchanged(source, size: size, mtime: mtime) else {
                retry(rel)
                continue  // deleted or changing
            }
            do {
                try client.uploadArtifact(experimentID: state.experimentID ?? "0", runID: state.mlflowRunID!,
                                          path: ArtifactPath(["files", rel]), file: source, size: UInt64(size), sha256: digest)
            } catch where error.code == .data {
                logger("\(full): changed while uploading; tried again once stable")
                retry(rel)
                continue
            }
            guard Self.unchanged(source, size: size, mtime: mtime) else {
                logger("\(full): changed while uploading; tried again once stable")
                retry(rel)
                continue
            }
            state.files[rel] = RunState.FileVersion(size: size, mtime: mtime, sha256: Hex.string(digest))
            changing.remove(rel)
            return true
        }
        lastScan = now
        if ended { scannedEnded = true }
        return false
    }

    /// Marks `rel` as changing: looked at again once stable.
    private func retry(_ rel: String) {
        seen[rel] = nil
        changing.insert(rel)
        nextDue = min(nextDue ?? stableAfter, stableAfter)
    }

    /// Whether files were seen that are not uploaded yet.
    var hasPending: Bool { nextDue != nil }

    /// The path to read for `full`, logging once a link that leads out.
    private func allowed(_ full: String, base: String, rel: String, logger: (String) -> Void) -> String? {
        let (path, outside) = Self.source(full, base: base)
        if let outside, refused.insert(rel).inserted { logger("\(full): leads out of the run directory (to \(outside)); not uploaded") }
        return path
    }

    /// The path to read for `full`: itself, or the target of a symbolic link
    /// inside the run directory; nil when refused (`outside`: where a link
    /// that leads out goes) or not a regular file.
    static func source(_ full: String, base: String) -> (path: String?, outside: String?) {
        if RegularFile.isRegular(full) { return (full, nil) }
        guard let root = RegularFile.resolved(base), let target = RegularFile.resolved(full) else { return (nil, nil) }
        guard target.hasPrefix(root.hasSuffix("/") ? root : root + "/") else { return (nil, target) }
        return (RegularFile.isRegular(target) ? target : nil, nil)
    }

    /// The run files (relative paths) whose version is not the one recorded
    /// as uploaded: those `advance` would still upload once the run has ended.
    static func unsent(_ directory: RunDirectory, state: RunState) -> [String] {
        let policies = Self.policies(directory)
        return list(directory.path).filter { rel in
            var st = stat()
            guard let path = source(directory.path + "/" + rel, base: directory.path).path, stat(path, &st) == 0 else { return false }
            guard let sent = state.files[rel] else { return true }
            return policy(for: rel, policies) != "now" && (sent.size != Int64(st.st_size) || sent.mtime != nanoseconds(st.st_mtim))
        }
    }

    static func nanoseconds(_ t: timespec) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }

    /// The run's files, relative paths, sorted; runlog's own left out.
    static func list(_ root: String) -> [String] {
        var out: [String] = []
        var stack = [""]
        while let dir = stack.popLast(), out.count < maxFiles {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? root : root + "/" + dir) else { continue }
            for name in names.sorted() where !name.hasPrefix(".") {
                if dir.isEmpty && (name == "logs" || name == "checkpoints") { continue }
                let rel = dir.isEmpty ? name : dir + "/" + name
                var st = stat()
                guard lstat(root + "/" + rel, &st) == 0 else { continue }
                if (st.st_mode & S_IFMT) == S_IFDIR { stack.append(rel) } else { out.append(rel) }
            }
        }
        return out.sorted()
    }

    /// `run.save` policies: `[{"glob": "*.pt", "policy": "end"}, …]` from the policy file.
    static func policies(_ directory: RunDirectory) -> [(glob: String, policy: String)] {
        guard let bytes = try? RegularFile.contents(directory.path + "/" + policyFile, limit: 1 << 20),
            let list = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: String]]
        else { return [] }
        return list.compactMap { e in e["glob"].flatMap { g in e["policy"].map { (g, $0) } } }
    }

    /// The last policy whose glob matches `rel`; "live" when none does.
    static func policy(for rel: String, _ policies: [(glob: String, policy: String)]) -> String {
        policies.last { fnmatch($0.glob, rel, 0) == 0 }?.policy ?? "live"
    }

    static func unchanged(_ path: String, size: Int64, mtime: Int64) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && Int64(st.st_size) == size && nanoseconds(st.st_mtim) == mtime
    }
}
