// SPDX-License-Identifier: Apache-2.0
/// The run's config, summary, tags and notes as the logger has written them,
/// so that they can be read back and changes written as updates.
final class RunMetadata: @unchecked Sendable {
    private let monitor = Monitor()
    private var config: [Entry] = []
    private var summary: [Entry] = []
    private var tags: [String]
    private var notes: String
    private var finished = false

    init(tags: [String], notes: String) {
        self.tags = []
        self.notes = notes
        for t in tags where !self.tags.contains(t) { self.tags.append(t) }
    }

    private func locked<T>(_ body: () -> T) -> T {
        monitor.lock()
        defer { monitor.unlock() }
        return body()
    }

    /// Sets the finished flag; true the first time only.
    func markFinished() -> Bool {
        locked {
            defer { finished = true }
            return !finished
        }
    }

    func merge(config updates: [Entry]) { locked { Value.merge(updates, into: &config) } }
    func merge(summary updates: [Entry]) { locked { Value.merge(updates, into: &summary) } }
    var currentConfig: [Entry] { locked { config } }
    var currentSummary: [Entry] { locked { summary } }
    var currentTags: [String] { locked { tags } }
    var currentNotes: String { locked { notes } }

    func update(add: [String], remove: [String], notes newNotes: String?) {
        locked {
            for t in add where !tags.contains(t) { tags.append(t) }
            tags.removeAll { remove.contains($0) }
            if let newNotes { notes = newNotes }
        }
    }
}
