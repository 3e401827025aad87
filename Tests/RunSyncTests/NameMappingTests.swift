// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunSync
import SeededRandom
import TestSupport
import Testing

/// Names and values MLflow refuses or cuts, tried against the real server:
/// every mapped key, experiment name and shortened value must be taken as it
/// is, and every value it would cut must be whole in an artifact.
@Suite("Names and values against MLflow's validators", .serialized, .needsMLflow)
struct NameMappingTests {
    let server = MLflowServer.shared

    /// Pieces MLflow's validators treat specially: path syntax, punctuation,
    /// marks, jamo, scripts, numbers, emoji, controls, private use, letters
    /// of Unicode 14 (Toto, Vithkuqi) and 15 (Kawi, Nag Mundari, CJK H).
    static let pieces: [String] = [
        "loss", "a", "Z9", "_", "-", ".", "..", "...", "/", "//", " ", ":", "\t", "\n", "#", "@", "+", ",", "=", "'", "\"",
        "\\", "(", ")", "[", "]", "%", "?", "*", "é", "e\u{301}", "\u{1100}\u{1161}", "ß", "Ω", "東京", "٣", "½", "Ⅻ", "ǅ", "ʰ",
        "🙂", "👩‍👩‍👧", "\u{200D}", "\u{FE0F}", "\u{0}", "\u{7F}", "\u{E000}", "\u{FFFD}",
        "\u{1E290}", "\u{10570}", "\u{11F04}", "\u{1E4D0}", "\u{31350}",
    ]

    /// `count` names of 1 to 8 pieces, some pieces repeated enough to pass 250 (or 500) code points.
    static func corpus(count: Int, seed: UInt64) -> [String] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            var name = ""
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let piece = pieces.randomElement(using: &rng)!
                name += Int.random(in: 0..<12, using: &rng) == 0 ? String(repeating: piece, count: Int.random(in: 60...300, using: &rng)) : piece
            }
            return name
        }
    }

    @Test func mappedKeysAreTakenAsTheyAreAndAcceptableOnesAreKept() throws {
        let corpus = Self.corpus(count: 600, seed: 0x5EED_0012)
        let mapped = corpus.map(MLflowNames.key)
        for (raw, key) in zip(corpus, mapped) {
            #expect(MLflowNames.isAcceptable(key) && MLflowNames.key(key) == key, "\(raw.debugDescription) → \(key.debugDescription)")
            #expect(key.unicodeScalars.count <= 250)
            if MLflowNames.isAcceptable(raw) { #expect(key == raw) }
        }
        for (raw, key) in [("..loss", "__loss"), ("...", "__."), ("a/../b", "a/__/b"), ("//x//", "x"), ("e\u{301}", "e_"),
                           ("\u{11F04}x", "_x"), ("東京/٣", "東京/٣")] {
            #expect(MLflowNames.key(raw) == key, "\(raw.debugDescription)")
        }
        let longHangul = String(repeating: "\u{1100}\u{1161}", count: 200)  // 200 clusters, 400 code points
        #expect(MLflowNames.key(longHangul).unicodeScalars.count == 250)

        let client = server.client()
        let experiment = try client.experimentID(named: "names-fuzz")
        let run = try client.createRun(experimentID: experiment, name: "names", startTime: 0, tags: [])
        // The server takes every mapped key as a metric, a param and a tag key,
        // and every raw name the mapping keeps as it is.
        let keys = Array(Set(mapped)).sorted()
        let kept = Array(Set(corpus.filter(MLflowNames.isAcceptable))).sorted()
        #expect(kept.count > 20 && keys.count > 300, "a corpus that tries both sides: \(kept.count) kept, \(keys.count) mapped")
        try client.logBatch(runID: run, metrics: keys.map { .init(key: $0, value: 1, timestamp: 0, step: 0) })
        for chunk in stride(from: 0, to: keys.count, by: 100).map({ Array(keys[$0..<min($0 + 100, keys.count)]) }) {
            try client.logBatch(runID: run, metrics: [], params: chunk.map { ($0, "v") }, tags: chunk.map { ($0, "v") })
        }
        for chunk in stride(from: 0, to: kept.count, by: 100).map({ Array(kept[$0..<min($0 + 100, kept.count)]) }) {
            try client.logBatch(runID: run, metrics: [], tags: chunk.map { ("raw/" + $0, "v") }.filter { MLflowNames.isAcceptable($0.0) })
        }
        let data = try client.getRun(run)
        #expect(Set(data.params.keys) == Set(keys))
        #expect(Set(keys).isSubset(of: Set(data.tags.keys)) && Set(keys).isSubset(of: Set(data.metrics.keys)))
    }

    @Test func experimentNamesAreCutToWhatTheServerHolds() throws {
        let client = server.client()
        var names = Self.corpus(count: 40, seed: 0x5EED_E4).filter { !$0.isEmpty }
        names += [String(repeating: "p", count: 501), String(repeating: "\u{1100}\u{1161}", count: 200), String(repeating: "ä", count: 256)]
        for project in names {
            let name = MLflowNames.experimentName(project)
            #expect(name.unicodeScalars.count <= 256)
            if project.unicodeScalars.count <= 256 { #expect(name == MLflowNames.text(project)) }
            #expect(!name.unicodeScalars.contains("\u{0}"))
            let id = try client.experimentID(named: name)
            #expect(try client.experimentID(named: MLflowNames.experimentName(project)) == id)
        }
        #expect(MLflowNames.experimentName("") == "Default")
    }

    /// PostgreSQL's text columns cannot hold U+0000: MLflow on it answered 400
    /// to the run's first request, and syncd quarantined it. SQLite keeps a
    /// U+0000, so here the check is what MLflow holds: U+FFFD in its place.
    @Test func aNulInNamesAndValuesGoesAsTheReplacementCharacter() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "nul-values", project: "nul\u{0}project", name: "run\u{0}name")
        try run.append([.config([Entry("k\u{0}", .string("v\u{0}w"))])])
        try run.append([.summary([Entry("s", .string("x\u{0}y"))])])
        try run.end()
        let result = try Sync.once(root: root, url: server.url)
        #expect(result.synced == ["nul-values"], "\(result.quarantined)")
        let state = try Sync.state(root: root, run: "nul-values")
        let client = server.client()
        let data = try client.getRun(try #require(state.mlflowRunID))
        #expect(data.params["k_"] == "v\u{FFFD}w")
        #expect(data.tags["summary.s"] == "x\u{FFFD}y")
        #expect(data.tags["mlflow.runName"] == "run\u{FFFD}name")
        #expect(!(Array(data.params.values) + Array(data.tags.values)).contains { $0.unicodeScalars.contains("\u{0}") })
        #expect(try client.experimentID(named: "nul\u{FFFD}project") == state.experimentID)
    }

    @Test func longValuesAreWholeInArtifactsThatLaterValuesNeverOverwrite() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "long-values", project: "names")
        let first = String(repeating: "e\u{301}", count: 3500)  // 3,500 clusters, 7,000 code points
        let second = String(repeating: "x", count: 6001)
        let exact = String(repeating: "\u{1100}\u{1161}", count: 3000)  // 6,000 code points: kept as it is
        let summary = String(repeating: "\u{1100}\u{1161}", count: 4001)  // 8,002 code points
        try run.append([.config([Entry("long", .string(first)), Entry("exact", .string(exact))])])
        try run.append([.config([Entry("long", .string(second))])])
        try run.append([.summary([Entry("big", .string(summary))])])
        try run.end()
        let result = try Sync.once(root: root, url: server.url)
        #expect(result.synced == ["long-values"], "\(result.quarantined)")
        let state = try Sync.state(root: root, run: "long-values")
        let client = server.client()
        let data = try client.getRun(try #require(state.mlflowRunID))
        #expect(data.params["exact"] == exact)
        func artifact(_ shown: String?) throws -> String? {
            guard let shown, let range = shown.range(of: "the whole value is the artifact ") else { return nil }
            let path = String(shown[range.upperBound...].dropLast())
            let bytes = try client.getArtifact(experimentID: state.experimentID!, runID: state.mlflowRunID!, path: ArtifactPath(path))
            return bytes.map { String(decoding: $0, as: UTF8.self) }
        }
        for (shown, whole) in [(data.params["long"], first), (data.tags["runlog.config.long"], second), (data.tags["summary.big"], summary)] {
            #expect((shown?.unicodeScalars.count ?? .max) <= 6000, "\(shown?.prefix(40) ?? "nil")")
            #expect(shown?.contains("[\(whole.unicodeScalars.count) characters; the whole value is the artifact ") == true)
            #expect(try artifact(shown) == whole)
        }
    }

    @Test func longHistogramKeysAndPrefixedTagsStayWithinWhatTheServerTakes() throws {
        let root = TestRun.makeRoot()
        let longKey = "grads/" + String(repeating: "w", count: 300)
        let longTag = "mlflow." + String(repeating: "t", count: 243)  // 250: acceptable, but not once prefixed with tag.
        let longName = String(repeating: "\u{1100}\u{1161}", count: 130)  // 260 code points: more than MLflow's runs table holds
        let run = try TestRun(root: root, id: "long-names", project: "names", name: longName, tags: [longTag])
        var h = Histogram(key: longKey, step: 1, time: 1_764_000_000_000_000, bins: .edges([0, 1]), counts: [2])
        h.count = 2
        try run.append([.histogram(h)])
        try run.end()
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once"], timeout: 60, log: root + "/once.log")
        #expect(status == 0, "\(log)")
        let state = try Sync.state(root: root, run: "long-names")
        let client = server.client()
        let data = try client.getRun(try #require(state.mlflowRunID))
        #expect(data.tags.keys.contains { $0.hasPrefix("tag.mlflow.ttt") && $0.unicodeScalars.count == 250 }, "\(data.tags.keys)")
        #expect(data.name.unicodeScalars.count == 250 && longName.unicodeScalars.starts(with: data.name.unicodeScalars.prefix(241)), "\(data.name)")
        let listed = try client.listArtifacts(experimentID: state.experimentID!, runID: state.mlflowRunID!, dir: "histograms/grads")
        #expect(listed.count == 1 && listed[0].path.split(separator: "/").last.map { $0.count == 200 } == true, "\(listed)")
    }
}
