// SPDX-License-Identifier: Apache-2.0

/// Names taken from logs, made safe to use as one component of a path.
public enum SafeName {
    /// `s` with every Unicode scalar outside `[A-Za-z0-9._-]` replaced by `_`.
    /// What an empty, `.` or `..` result becomes is the caller's rule.
    public static func characters<S: StringProtocol>(_ s: S) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { u in
            switch u {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": u
            default: "_"
            }
        }))
    }
}
