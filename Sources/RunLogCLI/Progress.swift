// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// A progress line on standard error, on a terminal only, redrawn at most
/// five times a second.
final class Progress {
    let total: Int
    let enabled: Bool
    /// The line for `done` of `total`.
    let label: (_ done: Int, _ total: Int) -> String
    private var last = 0.0

    init(total: Int, enabled: Bool, label: @escaping (_ done: Int, _ total: Int) -> String) {
        self.total = total
        self.enabled = enabled
        self.label = label
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let now = monotonicSeconds()
        guard now - last >= 0.2 || done == total else { return }
        last = now
        var line = "\r\u{1B}[2K" + label(done, total)
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    func done() {
        guard enabled else { return }
        var line = "\r\u{1B}[2K"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}
