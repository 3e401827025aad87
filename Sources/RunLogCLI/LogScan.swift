// SPDX-License-Identifier: Apache-2.0
import RunLog

/// Reads the frames of every file of a `LogInput` in order and reports what
/// is wrong on the way: damage, tails, files that are not logs.
///
/// When PATH is a single file that cannot be opened as a log, `run` throws a
/// one-line `CLIError` (status 2). In a run directory such a file is reported
/// as a problem and reading goes on with the next file.
final class LogScan {
    struct Problem {
        enum Kind {
            /// Bytes dropped between valid frames, or a malformed record.
            case damage
            /// Bytes after the last valid frame: a writer still running, or one that crashed.
            case tail
            /// A file whose header is not complete yet (a writer creating it).
            case headerNotWritten
            /// A file of the run that cannot be read as a log at all.
            case unreadable
        }

        var kind: Kind
        var file: String
        var offset: Int64
        var length: Int64
        var reason: String

        /// Whether this problem makes the input damaged.
        var isDamage: Bool { kind == .damage || kind == .unreadable }

        /// One line, naming the file and offset.
        var line: String {
            switch kind {
            case .damage:
                return "\(file): offset \(offset): \(length) bytes dropped: \(reason)"
            case .tail:
                return "\(file): offset \(offset): incomplete tail of \(length) bytes (\(reason)): its writer is still running or crashed"
            case .headerNotWritten:
                return "\(file): header not written yet (\(length) bytes): its writer is starting, or crashed at once"
            case .unreadable:
                return "\(file): \(reason)"
            }
        }
    }

    /// Called for each problem, in file order.
    var onProblem: (Problem) -> Void
    /// Whether a damage or unreadable problem was seen.
    private(set) var sawDamage = false

    init(onProblem: @escaping (Problem) -> Void) {
        self.onProblem = onProblem
    }

    /// A scan that reports each problem on standard error.
    static func reportingToStandardError() -> LogScan {
        LogScan { Diagnostics.warning($0.line) }
    }

    /// Opens a log for reading; throws a one-line error naming the file.
    static func open(_ path: String, from offset: Int64? = nil) throws -> LogReader {
        do {
            return try LogReader(path: path, from: offset)
        } catch let e as FormatError {
            throw CLIError.cannotRead(message(for: e, path: path))
        }
    }

    static func message(for e: FormatError, path: String) -> String {
        if e.code == .headerIncomplete {
            if LogInput.fileSize(path) == 0 { return "\(path): empty file: not a run log (or its writer has not written its header yet)" }
            return "\(path): truncated header: not a run log (or its writer has not finished writing its header)"
        }
        return e.description
    }

    /// Reads every file: `header` once per file opened, `frame` once per valid frame.
    func run(
        _ input: LogInput,
        header: (LogInput.File, LogReader) throws -> Void = { _, _ in },
        frame: (LogInput.File, LogReader.DecodedFrame) throws -> Void,
        end: (LogInput.File) throws -> Void = { _ in }
    ) throws {
        let single = input.run == nil
        for file in input.files {
            let reader: LogReader
            do {
                reader = try LogReader(path: file.path)
            } catch let e as FormatError {
                if single { throw CLIError.cannotRead(Self.message(for: e, path: file.path)) }
                if e.code == .headerIncomplete {
                    report(Problem(kind: .headerNotWritten, file: file.path, offset: 0, length: LogInput.fileSize(file.path) ?? 0, reason: e.message))
                } else {
                    report(Problem(kind: .unreadable, file: file.path, offset: e.offset ?? 0, length: LogInput.fileSize(file.path) ?? 0, reason: Self.message(for: e, path: file.path).dropPrefix(file.path + ": ")))
                }
                continue
            }
            reader.onDamage = { [unowned self] d in
                self.report(Problem(kind: .damage, file: file.path, offset: d.offset, length: d.length, reason: d.reason))
            }
            try header(file, reader)
            do {
                while let f = try reader.next() { try frame(file, f) }
                if let t = try reader.tail() {
                    report(Problem(kind: .tail, file: file.path, offset: t.offset, length: t.length, reason: t.reason))
                }
            } catch let e as FormatError {
                throw CLIError.cannotRead(e.description)
            }
            try end(file)
        }
    }

    private func report(_ p: Problem) {
        if p.isDamage { sawDamage = true }
        onProblem(p)
    }
}

extension String {
    func dropPrefix(_ prefix: String) -> String { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self }
}
