// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import RunLog

/// The PATH arguments of `dump`, `verify`, `stats` and `export`: a run
/// directory, a `.rlog` file, or a run id as `runlog ls` shows it, looked up
/// under ROOT (`--root`, else `$RUNLOG_DIR`, else `./runlogs`).
struct RunArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Where run ids are looked up (default: $RUNLOG_DIR, else ./runlogs).", valueName: "root"))
    var root: String?

    /// What `argument` names: itself when it exists; else, when it is a bare
    /// name (no `/`) and ROOT holds a directory of that name, that run; else
    /// `argument` unchanged, so that the error names what was typed.
    func locate(_ argument: String) -> String {
        if exists(argument) || argument.contains("/") { return argument }
        let candidate = RunDirectory.root(root) + "/" + argument
        return LogInput.isDirectory(candidate) ? candidate : argument
    }

    /// `locate`, with the error for a name that is neither a path nor a run id under ROOT.
    func resolve(_ argument: String, allowNoLogs: Bool = false) throws -> LogInput {
        let path = locate(argument)
        if !exists(path) && !argument.contains("/") {
            throw CLIError.cannotRead("\(argument): no such file or directory, nor a run under \(RunDirectory.root(root))")
        }
        return try LogInput.resolve(path, allowNoLogs: allowNoLogs)
    }

    private func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Calls `body` for each argument in order. A `CLIError` of one argument
    /// is reported (its line on standard error) and the next one is read; at
    /// the end the worst status seen is thrown (2 over 1), with no further line.
    static func forEach(_ arguments: [String], _ body: (String) throws -> Void) throws {
        var worst: CLIError.Status?
        for argument in arguments {
            do {
                try body(argument)
            } catch let e as CLIError {
                if let message = e.message { Diagnostics.error(message) }
                if (worst?.rawValue ?? 0) < e.status.rawValue { worst = e.status }
            } catch let e as FormatError {
                Diagnostics.error(e.description)
                worst = .cannotRead
            }
        }
        if let worst { throw CLIError(worst, nil) }
    }
}
