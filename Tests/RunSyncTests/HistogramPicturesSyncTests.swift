// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout
import TestSupport
import Testing

@testable import RunSync

/// Each histogram key's picture and JSON in MLflow: made from every
/// histogram of the logs, refreshed a bounded number of times, and after a
/// `kill -9` of syncd the same as a clean run makes.
@Suite("Histogram pictures in MLflow", .needsMLflow)
struct HistogramPicturesSyncTests {
    let server = MLflowServer.shared

    static func histogram(_ key: String, _ step: Int64) -> Histogram {
        let spread = 1 + Double(step) / 100
        var h = Histogram(key: key, step: step, time: 1_764_000_000_000_000 + step * 1000, bins: .uniform(low: -spread, high: spread),
                          counts: [1, 4, UInt64(10 + step % 7), 4, 1])
        h.count = h.counts.reduce(0, +)
        (h.min, h.max) = (-spread, spread)
        return h
    }

    /// The summary a key's histograms among `records` make, in their order.
    static func summary(_ records: [Record], key: String) -> HistogramSummary {
        var s = HistogramSummary()
        for case .histogram(let h) in records where h.key == key { s.add(h) }
        return s
    }

    static func picture(_ client: MLflowClient, _ state: RunState, _ key: String) throws -> (svg: [UInt8], json: [UInt8])? {
        guard let svg = try client.getArtifact(experimentID: state.experimentID!, runID: state.mlflowRunID!, path: HistogramPicture.svgPath(key)),
            let json = try client.getArtifact(experimentID: state.experimentID!, runID: state.mlflowRunID!, path: HistogramPicture.jsonPath(key))
        else { return nil }
        return (svg, json)
    }

    @Test func everyKeyOfEveryRankGetsAPictureOfAllItsHistograms() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "pictures-once", project: "pictures")
        let rank1 = try TestRun(root: root, id: "pictures-once", project: "pictures", rank: 1)
        for step in Int64(0)..<300 {
            var records: [Record] = [.histogram(Self.histogram("weights/w1", step))]
            if step % 60 == 0 { records.append(.histogram(Self.histogram("grads", step))) }
            try run.append(records)
            if step < 10 { try rank1.append([.histogram(Self.histogram("weights/w1", step))]) }
        }
        try run.metrics(["loss"], steps: 0..<300) { _, s in 1 / Double(s + 1) }
        try run.end()
        try rank1.end()

        #expect(try Sync.once(root: root, url: server.url).synced == ["pictures-once"])
        let state = try Sync.state(root: root, run: "pictures-once")
        let client = server.client()
        let cases = [("weights/w1", run.records, "weights/w1", 300, 151), ("grads", run.records, "grads", 5, 5),
                     ("rank1/weights/w1", rank1.records, "weights/w1", 10, 10)]
        for (key, records, logged, histograms, shown) in cases {
            let got = try #require(try Self.picture(client, state, key), "no picture of \(key)")
            let parsed = try #require(HistogramPictureTests.Parsed(got.svg), "not XML: \(key)")
            #expect(parsed.root == "svg" && parsed.attributes["data-histograms"] == "\(histograms)")
            // 300 histograms: every second one is kept (150), and the latest.
            #expect(parsed.median.count == shown, "\(key): \(parsed.median.count) points")
            let expected = Self.summary(records, key: logged)
            #expect(got.svg == HistogramPicture.svg(key: key, expected))
            #expect(got.json == HistogramPicture.json(key: key, expected))
        }
        let listed = try client.listArtifacts(experimentID: state.experimentID!, runID: state.mlflowRunID!, dir: "histograms/grads")
        #expect(Set(listed.map(\.path)).isSuperset(of: ["distribution.svg", "distribution.json"]))
        // The sizes the final pictures stand for: a later pass reads nothing again.
        #expect(state.histogramPictures == ["a0001-r0000-s0000.rlog": RunSyncer.fileSize(run.logPath),
                                            "a0001-r0001-s0000.rlog": RunSyncer.fileSize(rank1.logPath)])

        // As if syncd was killed after the last point, before the final pictures and the end status: the next
        // pass reads the logs again (64 frames a turn, here several turns) and sets FINISHED only after the pictures.
        var killed = state
        (killed.histogramPictures, killed.sentStatus, killed.status) = ([:], "RUNNING", .pending)
        try StateStore(directory: root + "/.syncd").save(&killed)
        let (status, log) = try SyncdProcess.run(["--root", root, "--mlflow", server.url, "--once", "--log-level", "debug"], timeout: 120,
                                                 log: root + "/once.log")
        #expect(status == 0, "\(log)")
        let lines = log.split(separator: "\n")
        let lastPicture = try #require(lines.lastIndex { $0.contains("histogram picture") }, "\(log)")
        let finished = try #require(lines.firstIndex { $0.contains("MLflow status FINISHED") }, "\(log)")
        #expect(lastPicture < finished, "\(log)")
        #expect(try Sync.state(root: root, run: "pictures-once").histogramPictures == state.histogramPictures)
    }

    @Test func cleanKeepsARunWhosePicturesAreNotFinal() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "pictures-clean", project: "pictures")
        try run.append((0..<5).map { .histogram(Self.histogram("w", $0)) })
        try run.end()
        _ = try Sync.once(root: root, url: server.url)
        func clean() throws -> String {
            try SyncdProcess.run(["clean", "--root", root, "--older-than", "0", "--dry-run", "--verbose"], timeout: 60, log: root + "/clean.log").1
        }
        #expect(try clean().contains("would remove\tpictures-clean\tfinished"))
        // A state saved before the pictures were final (by a syncd killed then, or one that made none).
        let store = try StateStore(directory: root + "/.syncd")
        var state = try Sync.state(root: root, run: "pictures-clean")
        state.histogramPictures = [:]
        try store.save(&state)
        #expect(try clean().contains("kept\tpictures-clean\tits histogram pictures in MLflow are not final yet"))
        _ = try Sync.once(root: root, url: server.url)
        #expect(try clean().contains("would remove\tpictures-clean\tfinished"))
    }

    @Test func withoutHistogramRecordsEachKeyHasItsPictureAndPointsOnly() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "pictures-only", project: "pictures")
        try run.append((0..<40).map { .histogram(Self.histogram("grads/w", $0)) })
        try run.end()
        #expect(try Sync.once(root: root, url: server.url) { $0.histogramRecords = false }.synced == ["pictures-only"])
        let state = try Sync.state(root: root, run: "pictures-only")
        let client = server.client()
        let listed = try client.listArtifacts(experimentID: state.experimentID!, runID: state.mlflowRunID!, dir: "histograms/grads/w")
        #expect(listed.map(\.path).sorted() == ["distribution.json", "distribution.svg"], "\(listed)")
        let got = try #require(try Self.picture(client, state, "grads/w"))
        #expect(got.svg == HistogramPicture.svg(key: "grads/w", Self.summary(run.records, key: "grads/w")))
    }

    /// Lines of a syncd debug log saying that `key`'s picture was uploaded.
    static func uploads(_ log: String, _ key: String) -> Int {
        log.split(separator: "\n").filter { $0.contains("histogram picture \(HistogramPicture.svgPath(key)) (") }.count
    }

    @Test func liveRefreshesAreBoundedAndAKill9LeavesTheCleanRunsPicture() throws {
        let root = TestRun.makeRoot()
        let run = try TestRun(root: root, id: "pictures-live", project: "pictures")
        let client = server.client()
        let first = try SyncdProcess(["--root", root, "--mlflow", server.url, "--log-level", "debug"], log: root + "/first.log")
        defer { _ = first.stop(SIGKILL, timeout: 5) }
        var step: Int64 = 0
        func write(_ n: Int) throws {
            for _ in 0..<n {
                try run.append([.histogram(Self.histogram("w", step))])
                try run.metrics(["loss"], steps: step..<step + 1) { _, s in Double(s) }
                step += 1
                usleep(40_000)
            }
        }
        try write(60)
        // The first picture is there while the run is live.
        let shown = try eventually(timeout: 30) {
            guard let state = try? StateStore(directory: root + "/.syncd").load("pictures-live"), state.mlflowRunID != nil else { return false }
            return try Self.picture(client, state, "w") != nil
        }
        #expect(shown != nil, "\(first.log)")
        first.kill9()
        #expect(Self.uploads(first.log, "w") <= 2, "\(first.log)")

        let second = try SyncdProcess(["--root", root, "--mlflow", server.url, "--log-level", "debug"], log: root + "/second.log")
        defer { _ = second.stop(SIGKILL, timeout: 5) }
        try write(240)  // about 10 s
        try run.end()
        let expected = Self.summary(run.records, key: "w")
        // The pictures are final before MLflow's run is: once it is FINISHED, they show all 300 histograms.
        let done = eventually(timeout: 60) { (try? Sync.state(root: root, run: "pictures-live"))?.sentStatus == "FINISHED" }
        #expect(done != nil, "\(second.log)")
        let state = try Sync.state(root: root, run: "pictures-live")
        let got = try #require(try Self.picture(client, state, "w"))
        #expect(got.json == HistogramPicture.json(key: "w", expected))
        #expect(got.svg == HistogramPicture.svg(key: "w", expected))
        #expect(HistogramPictureTests.Parsed(got.svg)?.attributes["data-histograms"] == "300")
        // 240 histograms in about 10 s: an upload once the logs are read again, one 10 s later at most, and the final one.
        let uploads = Self.uploads(second.log, "w")
        #expect(uploads >= 2 && uploads <= 3, "\(uploads) uploads: \(second.log)")
        #expect(second.stop(SIGTERM, timeout: 15) == 0)
    }
}
