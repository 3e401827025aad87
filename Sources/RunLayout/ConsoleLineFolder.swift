// SPDX-License-Identifier: Apache-2.0
/// The text of console records (spec/format.md §4.9) from one stream's
/// output as it arrives: whole lines, a line rewritten with `\r` (a progress
/// bar) in its final state only, and the partial line when asked. The same
/// rules as the Python client's `LineFolder`. Works on UTF-8 bytes. Not
/// thread-safe: one per stream.
public struct ConsoleLineFolder: Sendable {
    /// Bytes of one line held before it is recorded as a partial line.
    public static let partialMax = 1 << 20
    private var pending: [UInt8] = []  // the line so far, after its last `\r` (trailing `\r`s kept)
    private var emitted = false  // part of the line is already recorded
    private var rewritten = false  // rewritten since that part was recorded
    private var rewrites = false  // the line holds a `\r`: a progress bar
    private var since: Double?

    public init() {}

    /// The text to record for `bytes` (may be empty): the lines they complete.
    public mutating func feed(_ bytes: ArraySlice<UInt8>, now: Double) -> [UInt8] {
        if since == nil && !bytes.isEmpty { since = now }
        var out: [UInt8] = []
        var start = bytes.startIndex
        while let nl = bytes[start...].firstIndex(of: 0x0A) {
            add(bytes[start..<nl])
            out += prefix
            var line = pending[...]
            while line.last == 0x0D { line = line.dropLast() }
            out += line
            out.append(0x0A)
            pending = []
            emitted = false
            rewritten = false
            rewrites = false
            since = nil
            start = nl + 1
        }
        if start < bytes.endIndex {
            add(bytes[start...])
            if since == nil { since = now }
        }
        if pending.count > Self.partialMax { out += takePartial(now: now) }
        return out
    }

    /// Whether the partial line has waited `plainAfter` seconds (`barAfter` for a progress bar).
    public func isDue(now: Double, plainAfter: Double, barAfter: Double) -> Bool {
        guard let since, pending.contains(where: { $0 != 0x0D }) || rewritten else { return false }
        return now - since >= (rewrites ? barAfter : plainAfter)
    }

    /// The partial line as it stands, to record now; the line goes on.
    public mutating func takePartial(now: Double = 0) -> [UInt8] {
        var body = pending[...]
        while body.last == 0x0D { body = body.dropLast() }
        guard !body.isEmpty || rewritten else { return [] }
        let text = prefix + body
        pending = Array(pending[body.endIndex...])
        emitted = true
        rewritten = false
        since = now
        return text
    }

    private var prefix: [UInt8] { emitted && rewritten ? [0x0D] : [] }

    private mutating func add(_ segment: ArraySlice<UInt8>) {
        pending += segment
        var body = pending[...]
        while body.last == 0x0D { body = body.dropLast() }
        if let cr = body.lastIndex(of: 0x0D) {
            pending = Array(pending[(cr + 1)...])
            rewrites = true
            if emitted { rewritten = true }
        }
    }
}
