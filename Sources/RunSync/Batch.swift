// SPDX-License-Identifier: Apache-2.0
/// One `runs/log-batch` being assembled within MLflow's limits.
struct Batch {
    static let maxMetrics = 1000
    static let maxParams = 100
    static let maxTags = 100
    static let maxItems = 1000

    var metrics: [MLflowClient.Metric] = []
    var params: [(String, String)] = []
    var tags: [(String, String)] = []
    private var paramIndex: [String: String] = [:]
    private var tagIndex: [String: Int] = [:]

    var isEmpty: Bool { metrics.isEmpty && params.isEmpty && tags.isEmpty }
    var count: Int { metrics.count + params.count + tags.count }

    init() { metrics.reserveCapacity(Self.maxMetrics) }

    /// Adds an item, or returns false when the batch has no room for it.
    /// `known` holds the params MLflow already has.
    mutating func add(_ item: Item, known: [String: String]) -> Bool {
        guard count < Self.maxItems else { return false }
        switch item {
        case .metric(let m):
            guard metrics.count < Self.maxMetrics else { return false }
            metrics.append(m)
        case .param(let key, let value, let changed):
            let existing = known[key] ?? paramIndex[key]
            if existing == value { return true }  // already there: nothing to send
            if existing != nil { return add(.tag(changed.0, changed.1), known: known) }
            guard params.count < Self.maxParams else { return false }
            params.append((key, value))
            paramIndex[key] = value
        case .tag(let key, let value):
            if let i = tagIndex[key] {
                tags[i].1 = value  // latest wins
                return true
            }
            guard tags.count < Self.maxTags else { return false }
            tagIndex[key] = tags.count
            tags.append((key, value))
        case .op:
            return false
        }
        return true
    }
}
