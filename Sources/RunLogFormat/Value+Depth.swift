// SPDX-License-Identifier: Apache-2.0
extension Value {
    /// How many levels the value nests (spec §4.0): 1 for a scalar or an
    /// empty list or map, and 1 more than its deepest item otherwise. A value
    /// of a config, summary or metadata entry may nest at most `maxDepth`
    /// levels; readers take a deeper one as a malformed record, so writers
    /// refuse it.
    public var depth: Int {
        var deepest = 0
        var pending: [(Value, Int)] = [(self, 1)]
        while let (value, level) = pending.popLast() {
            deepest = max(deepest, level)
            switch value {
            case .list(let items): pending += items.map { ($0, level + 1) }
            case .map(let entries): pending += entries.map { ($0.value, level + 1) }
            default: break
            }
        }
        return deepest
    }

    /// The first entry whose value nests deeper than `maxDepth` levels, and its depth.
    public static func tooDeep(_ entries: [Entry]) -> (key: String, depth: Int)? {
        for e in entries {
            let d = e.value.depth
            if d > maxDepth { return (e.key, d) }
        }
        return nil
    }
}
