// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// Values nest at most `Value.maxDepth` (64) levels: the logger refuses a
/// deeper one when it is given, since every reader takes it as damage.
@Suite struct DeepValueTests {
    static func nested(_ levels: Int) -> Value {
        var v: Value = "leaf"
        for level in 1..<levels { v = level % 2 == 0 ? .list([v]) : ["k": v] }
        return v
    }

    @Test func theLoggerRefusesValuesReadersWouldRefuse() throws {
        let dir = TempDir()
        defer { dir.remove() }
        #expect(Self.nested(64).depth == 64 && Self.nested(65).depth == 65 && Value.int(1).depth == 1 && Value.list([]).depth == 1)
        do {
            _ = try Run(config: ["too_deep": Self.nested(65)], id: "refused", root: dir.path, options: testOptions())
            Issue.record("a config nested 65 levels deep was accepted")
        } catch let e as RunError {
            #expect(e.code == .invalidArgument)
            #expect(e.message == "config key 'too_deep': nested 65 levels deep; at most 64 are allowed (spec/format.md §4.0)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/refused"))

        let errors = ErrorLines()
        let run = try Run(config: ["deepest": Self.nested(64)], id: "deep", root: dir.path, options: testOptions(errors))
        run.config.update(["fine": 1, "y": Self.nested(70)])
        run.summary["x"] = Self.nested(65)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("deep-\(UUID().uuidString).bin")
        try Data("w".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(throws: RunError.self) { try run.saveCheckpoint(name: "m", file: file, metadata: ["meta": Self.nested(66)]) }
        #expect(run.finish())
        #expect(errors.lines == [
            "config key 'y': nested 70 levels deep; at most 64 are allowed (spec/format.md §4.0); not written",
            "summary key 'x': nested 65 levels deep; at most 64 are allowed (spec/format.md §4.0); not written",
        ])
        let log = try ReadLog(path: run.logPath!)
        #expect(log.damage.isEmpty)
        let configs = log.records.compactMap { r -> [Entry]? in if case .config(let e) = r { return e } else { return nil } }
        #expect(configs == [[Entry("deepest", Self.nested(64))]])
        #expect(!log.records.contains { if case .summary = $0 { return true } else { return false } })
    }
}
