// SPDX-License-Identifier: Apache-2.0
/// An error that ends the command with a documented exit status and, unless
/// `message` is nil, one line on standard error.
struct CLIError: Error, CustomStringConvertible {
    enum Status: Int32 {
        /// Some of the input is damaged; what could be read was still used.
        case damaged = 1
        /// The input cannot be read at all, or the command line is wrong.
        case cannotRead = 2
        /// The output cannot be written (export: a directory not writable, a full disk).
        case cannotWrite = 3
    }

    let status: Status
    let message: String?

    init(_ status: Status, _ message: String?) {
        self.status = status
        self.message = message
    }

    /// PATH (or a file in it) cannot be read: missing, not a run log, I/O error.
    static func cannotRead(_ message: String) -> CLIError { CLIError(.cannotRead, message) }

    /// Damage was found and already reported on standard error.
    static let damageReported = CLIError(.damaged, nil)

    var description: String { message ?? "damaged input" }
}
