// SPDX-License-Identifier: Apache-2.0
import ArgumentParser
import RunSync

/// The value of a flag that takes a duration: `90s`, `45m`, `12h`, `7d`, or a
/// bare number of seconds (`HumanText.seconds`).
enum DurationFlag {
    /// `text` in seconds; a usage error naming `flag` (exit status 2) when it
    /// is not a duration, or is 0 and `zero` does not allow it.
    static func seconds(_ text: String, flag: String, zero: Bool) throws -> Double {
        guard let seconds = HumanText.seconds(text), zero || seconds > 0 else {
            throw ValidationError("\(flag): '\(text)' is not a duration\(zero ? "" : " above 0,") like 90s, 45m, 12h or 7d")
        }
        return seconds
    }
}
