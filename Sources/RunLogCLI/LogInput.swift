// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RunLog

/// The logs a PATH argument names: a single log file, or every log of a run
/// directory in reading order (by rank, then attempt, then segment).
struct LogInput {
    struct File {
        let path: String
        /// The numbers in the file's name, when it is a segment of a run directory.
        let segment: SegmentName?
        /// The numbers in the file's name, when it is a console log of a run directory.
        var console: ConsoleLogName? = nil
    }

    let path: String
    /// The run, when PATH is a run directory (or its `logs/` directory).
    let run: RunDirectory?
    private(set) var files: [File]

    /// Resolves PATH. Throws a one-line `CLIError` (status 2) when it is missing,
    /// unreadable, or a directory that is not a run. With `allowNoLogs`, a run
    /// directory whose `logs/` holds no log yet is accepted (a run that is starting).
    static func resolve(_ path: String, allowNoLogs: Bool = false) throws -> LogInput {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw CLIError.cannotRead("\(path): \(SystemCall.errorText(errno))")
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                throw CLIError.cannotRead("\(path): not a regular file or a run directory")
            }
            // A log named through a symbolic link is read at its target: the
            // reader itself opens regular files only, never through a link.
            var lst = stat()
            let target = lstat(path, &lst) == 0 && (lst.st_mode & S_IFMT) == S_IFLNK ? (RegularFile.resolved(path) ?? path) : path
            return LogInput(path: path, run: nil, files: [File(path: target, segment: nil)])
        }
        var run = RunDirectory(path: trimmed(path))
        if !isDirectory(run.logsPath), (trimmed(path) as String).hasSuffix("/logs") || trimmed(path) == "logs" {
            // PATH is a run's logs/ directory itself.
            let parent = String(trimmed(path).dropLast(4))
            run = RunDirectory(path: parent.isEmpty ? "." : String(parent.dropLast(parent.hasSuffix("/") ? 1 : 0)))
        }
        guard isDirectory(run.logsPath) else {
            if let example = firstRun(under: trimmed(path)) {
                throw CLIError.cannotRead("\(path): a directory of runs, not a run: name one, e.g. \(example) (`runlog ls \(path)` lists them)")
            }
            throw CLIError.cannotRead("\(path): not a run directory (it has no logs/ directory)")
        }
        let input = try LogInput(path: path, run: run, files: listFiles(run))
        if input.files.isEmpty && !allowNoLogs {
            throw CLIError.cannotRead("\(path): not a run directory (\(run.logsPath) holds no .rlog log)")
        }
        return input
    }

    /// The same input with the run's segments listed again (new ones appear while a run is live).
    func refreshed() throws -> LogInput {
        guard let run else { return self }
        return LogInput(path: path, run: run, files: try Self.listFiles(run))
    }

    /// Per rank and attempt, its segments and then its console logs.
    private static func listFiles(_ run: RunDirectory) throws -> [File] {
        do {
            let logs = try run.segments().map { File(path: $0.path, segment: $0.name) }
            let consoles = try run.consoleLogs().map { File(path: $0.path, segment: nil, console: $0.name) }
            func order(_ f: File) -> (UInt64, UInt64, Int, UInt64) {
                if let s = f.segment { return (s.rank, s.attempt, 0, s.segment) }
                let c = f.console!
                return (c.rank, c.attempt, 1, c.number)
            }
            return (logs + consoles).sorted { order($0) < order($1) }
        } catch {
            throw CLIError.cannotRead("\(run.logsPath): cannot list: \(error.localizedDescription)")
        }
    }

    /// The first directory under ROOT, by name, that is a run (has `logs/`).
    private static func firstRun(under root: String) -> String? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return nil }
        let base = root.hasSuffix("/") ? root : root + "/"
        return names.sorted().lazy.map { base + $0 }.first { isDirectory(RunDirectory(path: $0).logsPath) }
    }

    private static func trimmed(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        return String(p)
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The size of a file in bytes, or nil when it cannot be examined.
    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }
}
