// SPDX-License-Identifier: Apache-2.0
import RunLogFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a run's events go under a TensorBoard log directory:
/// `<project>/<name or id>[/rank<N>]/events.out.tfevents.<start s>.runlog-<id>`.
///
/// Each path component keeps only `[A-Za-z0-9._-]` (others become `_`; `.` and
/// `..` become `_` and `__`; empty becomes `_`), so no name in a log can leave
/// the log directory. Ranks other than 0 are a subdirectory of rank 0's run.
/// When `<name>` already holds another run's events (two runs of one name),
/// the later one goes to `<name>.<id>`, so their curves never mix.
public enum TensorBoardLayout {
    /// A path component made of safe characters only.
    public static func component(_ s: String) -> String {
        if s.isEmpty { return "_" }
        if s == "." { return "_" }
        if s == ".." { return "__" }
        return SafeName.characters(s)
    }

    /// The event file's name for a run whose first start in this rank was at `startTime` (µs).
    public static func fileName(runID: String, startTime: Int64) -> String {
        let secs = max(0, startTime / 1_000_000)
        var digits = String(secs)
        if digits.count < 10 { digits = String(repeating: "0", count: 10 - digits.count) + digits }
        return "events.out.tfevents.\(digits).runlog-\(component(runID))"
    }

    /// The run's directory relative to the log directory `root`, choosing
    /// `<name>.<id>` when `<name>` holds another run's event files.
    public static func runDirectory(root: String, project: String, name: String, runID: String, rank: UInt64) -> String {
        let base = component(project.isEmpty ? "Default" : project)
        var leaf = component(name.isEmpty ? runID : name)
        let own = ".runlog-" + component(runID)
        func taken(_ dir: String) -> Bool {
            eventFiles(in: root + "/" + dir).contains { !$0.hasSuffix(own) }
        }
        if !name.isEmpty, taken(base + "/" + leaf) || (rank > 0 && taken(base + "/" + leaf + "/rank\(rank)")) {
            leaf += "." + component(runID)
        }
        return base + "/" + leaf + (rank > 0 ? "/rank\(rank)" : "")
    }

    /// Names of runlog-written event files in `dir` (none if it cannot be read).
    static func eventFiles(in dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name.hasPrefix("events.out.tfevents."), name.contains(".runlog-") { names.append(name) }
        }
        return names
    }
}
