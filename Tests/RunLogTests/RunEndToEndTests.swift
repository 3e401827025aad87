// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

@Suite struct RunEndToEndTests {
    @Test func everyRecordKindReadsBackThroughTheReader() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(
            project: "mnist", name: "cnn", group: "g1", config: ["lr": 0.01, "batch_size": 64], tags: ["ignite", "base"],
            notes: "first", id: "e2e-1", root: dir.path, options: testOptions())
        #expect(run.attempt == 1 && run.rank == 0)
        run.log(["training/loss": 0.31, "lr": 0.01], step: 120)
        let k = run.keys("loss", "acc")
        run.log(k, 0.25, 0.5, step: 121)
        run.log(k, 0.75, step: 3)  // fewer values than keys; a step going back
        run.logHistogram("grads/w", values: [1, 2, 2, 3, Double.nan, Double.infinity], bins: 4, step: 121)
        run.logHistogram("grads/f", values: [Float](repeating: 0.5, count: 10), bins: 2)
        run.logHistogram("pre/range", counts: [1, 2, 3], range: 0...3, step: 7)
        run.logHistogram("pre/edges", counts: [4, 5], edges: [0, 1, 10], step: 8)
        let file = URL(fileURLWithPath: dir.path + "/model weights.bin")
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try Data(bytes).write(to: file)
        let saved = try #require(try run.saveCheckpoint(name: "best", file: file, step: 121, aliases: ["best"], metadata: ["acc": 0.5]))
        run.config.update(["optimizer": ["name": "adam"]])
        run.summary["best_acc"] = 0.98
        run.addTags("done")
        run.removeTags("base")
        run.setNotes("second")
        #expect(run.tags == ["ignite", "done"])
        #expect(run.summary["best_acc"] == .double(0.98))
        #expect(run.config["lr"] == .double(0.01))
        #expect(run.finish(exitCode: 0))

        let logs = try readRun(try #require(run.directory))
        #expect(logs.count == 1)
        let log = try #require(logs.first)
        #expect(log.damage.isEmpty && log.tail == nil)
        #expect(log.header.runID == "e2e-1" && log.header.attempt == 1 && log.header.writer == Run.writer)
        let kinds = log.records.map(\.kindName)
        #expect(kinds.first == "run_start" && kinds.last == "run_end")
        #expect(Set(kinds) == ["run_start", "environment", "config", "metrics", "histogram", "checkpoint", "tags", "summary", "run_end"])
        #expect(kinds[1] == "environment")

        guard case .runStart(let start) = log.records[0] else { Issue.record("no run start"); return }
        #expect(start.project == "mnist" && start.name == "cnn" && start.group == "g1")
        #expect(start.tags == ["ignite", "base"] && start.notes == "first" && start.attempt == 1)
        #expect(start.pid == UInt64(getpid()) && start.writer == Run.writer && !start.argv.isEmpty)

        let configs = log.records.compactMap { r -> [Entry]? in if case .config(let e) = r { return e } else { return nil } }
        #expect(configs == [[Entry("batch_size", 64), Entry("lr", 0.01)], [Entry("optimizer", ["name": "adam"])]])

        let rows = log.rows
        #expect(rows.map(\.step) == [120, 121, 3])
        #expect(rows[0].values == ["training/loss": 0.31, "lr": 0.01])
        #expect(rows[1].values == ["loss": 0.25, "acc": 0.5])
        #expect(rows[2].values == ["loss": 0.75])

        let histograms = log.records.compactMap { r -> Histogram? in if case .histogram(let h) = r { return h } else { return nil } }
        #expect(histograms.map(\.key) == ["grads/w", "grads/f", "pre/range", "pre/edges"])
        let w = histograms[0]
        #expect(w.step == 121 && w.bins == .uniform(low: 1, high: 3) && w.counts == [1, 0, 2, 1])
        #expect(w.count == 4 && w.nonfinite == 2 && w.min == 1 && w.max == 3 && w.sum == 8 && w.sumSquares == 18)
        let f = histograms[1]
        #expect(f.step == 3, "a histogram without a step takes the latest row's step")
        #expect(f.bins == .uniform(low: 0, high: 1) && f.counts == [0, 10] && f.count == 10)
        #expect(histograms[2].bins == .uniform(low: 0, high: 3) && histograms[2].counts == [1, 2, 3] && histograms[2].count == 6)
        #expect(histograms[3].bins == .edges([0, 1, 10]) && histograms[3].counts == [4, 5] && histograms[3].step == 8)

        let checkpoints = log.records.compactMap { r -> Checkpoint? in if case .checkpoint(let c) = r { return c } else { return nil } }
        #expect(checkpoints == [saved])
        #expect(saved.path == "checkpoints/best/121-model_weights.bin" && saved.size == 100_000)
        #expect(saved.sha256 == SHA256Hasher.hash(bytes) && saved.aliases == ["best"] && saved.metadata == [Entry("acc", 0.5)])
        let copied = try Data(contentsOf: URL(fileURLWithPath: run.directory!.path + "/" + saved.path))
        #expect([UInt8](copied) == bytes)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.directory!.checkpointsPath).filter { $0.hasPrefix(".tmp") }
        #expect(leftovers.isEmpty)

        let tags = log.records.compactMap { r -> TagsUpdate? in if case .tags(let t) = r { return t } else { return nil } }
        #expect(tags == [TagsUpdate(add: ["done"]), TagsUpdate(remove: ["base"]), TagsUpdate(notes: "second")])
        let summaries = log.records.compactMap { r -> [Entry]? in if case .summary(let e) = r { return e } else { return nil } }
        #expect(summaries == [[Entry("best_acc", 0.98)]])
        guard case .runEnd(let end) = log.records.last else { Issue.record("no run end"); return }
        #expect(end.status == .finished && end.exitCode == 0)

        let (status, _) = try run.directory!.status()
        #expect(status == .finished)
        #expect(!FileManager.default.fileExists(atPath: run.directory!.livePath(attempt: 1, rank: 0)))
    }

    @Test func stepsCountUpFromThePreviousRowWhenNotGiven() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(id: "steps", root: dir.path, options: testOptions())
        run.log(["x": 1])
        run.log(["x": 2])
        run.log(["x": 3], step: 10)
        run.log(["x": 4])
        run.log(["x": 5], step: 2)
        run.log(["x": 6])
        run.finish()
        let rows = try readRun(run.directory!)[0].rows
        #expect(rows.map(\.step) == [0, 1, 10, 11, 2, 3])
        #expect(rows.map { $0.values["x"] } == [1, 2, 3, 4, 5, 6])
    }

    @Test func framesStayUnderTheirTargetAndHoldColumnarBlocks() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.frameTarget = 4096
        let run = try Run(id: "frames", root: dir.path, options: options)
        let k = run.keys((0..<20).map { "key\($0)" })
        for step in 0..<3000 {
            let values = (0..<20).map { Double(step * 20 + $0) * 0.37 }
            values.withUnsafeBufferPointer { run.log(k, values: $0, step: Int64(step)) }
            if step >= 1500, step % 7 == 0 { run.log(["sparse": Double(step)], step: Int64(step)) }
            if step == 2000 { run.summary["half"] = true }
        }
        run.finish()
        let path = run.logPath!
        let reader = try LogReader(path: path)
        var damage: [LogReader.Damage] = []
        reader.onDamage = { damage.append($0) }
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var frames = 0
        var blocks = 0
        var rows: [(step: Int64, values: [String: Double])] = []
        while let frame = try reader.next() {
            frames += 1
            let contentLength = Int(file[Int(frame.offset) + 8]) | Int(file[Int(frame.offset) + 9]) << 8 | Int(file[Int(frame.offset) + 10]) << 16
            #expect(contentLength <= 4096)
            for case .metrics(let block) in frame.records {
                blocks += 1
                block.forEachRow { step, _, v in rows.append((step, Dictionary(v.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 }))) }
            }
        }
        #expect(damage.isEmpty)
        #expect(frames > 10)
        #expect(blocks < rows.count / 10, "rows are grouped into blocks")
        #expect(rows.count == 3000 + 214)
        var expected: [(Int64, [String: Double])] = []
        for step in 0..<3000 {
            expected.append((Int64(step), Dictionary(uniqueKeysWithValues: (0..<20).map { ("key\($0)", Double(step * 20 + $0) * 0.37) })))
            if step >= 1500, step % 7 == 0 { expected.append((Int64(step), ["sparse": Double(step)])) }
        }
        let firstDifference = zip(rows, expected).enumerated().first { $0.element.0.step != $0.element.1.0 || $0.element.0.values != $0.element.1.1 }?.offset
        #expect(firstDifference == nil, "row \(firstDifference ?? -1) differs")
    }

    @Test func aRecordReachesTheFileWithinTheWriteIntervalWithoutFlush() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.writeInterval = 0.2
        let run = try Run(id: "interval", root: dir.path, options: options)
        defer { run.finish() }
        run.log(["x": 42], step: 1)
        let deadline = Date().addingTimeInterval(5)
        var found = false
        while !found && Date() < deadline {
            found = try ReadLog(path: run.logPath!).rows.contains { $0.values["x"] == 42 }
            if !found { usleep(20_000) }
        }
        #expect(found)
    }

    @Test func aRecordThatIsNotARowReachesTheFileWithinTheWriteInterval() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = testOptions()
        options.writeInterval = 0.2
        options.heartbeatInterval = 30  // no heartbeat comes to write it meanwhile
        let run = try Run(id: "interval-record", root: dir.path, options: options)
        defer { run.finish() }
        usleep(300_000)  // the run start and environment are written: the writer waits for the next item
        let start = Date()
        run.summary["acc"] = 0.5
        var found = false
        while !found && Date().timeIntervalSince(start) < 10 {
            found = try ReadLog(path: run.logPath!).records.contains { if case .summary = $0 { true } else { false } }
            if !found { usleep(20_000) }
        }
        #expect(found && Date().timeIntervalSince(start) < 2, "written after \(Date().timeIntervalSince(start)) s")
    }

    @Test func configAndSummaryMergeLikeReaders() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let run = try Run(config: ["model": ["depth": 3, "width": 64]], id: "merge", root: dir.path, options: testOptions())
        run.config.update(["model": ["depth": 5]])
        run.summary["acc"] = 0.5
        run.summary["acc"] = 0.75
        #expect(run.config.entries == [Entry("model", ["depth": 5, "width": 64])])
        #expect(run.summary.entries == [Entry("acc", 0.75)])
        run.finish()
        var config: [Entry] = []
        for case .config(let e) in try readRun(run.directory!)[0].records { Value.merge(e, into: &config) }
        #expect(config == run.config.entries)
    }

    @Test func badArgumentsAreRefusedWithoutWriting() throws {
        let dir = TempDir()
        defer { dir.remove() }
        #expect(throws: RunError.self) { try Run(id: "bad/id", root: dir.path, options: testOptions()) }
        #expect(throws: RunError.self) { try Run(id: ".hidden", root: dir.path, options: testOptions()) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let errors = ErrorLines()
        let run = try Run(id: "ok", root: dir.path, options: testOptions(errors))
        run.logHistogram("h", counts: [1, 2], edges: [0, 1])
        #expect(throws: RunError.self) { try run.saveCheckpoint(name: "c", file: URL(fileURLWithPath: dir.path + "/missing")) }
        run.finish()
        #expect(errors.lines.contains { $0.contains("histogram 'h' ignored") })
        #expect(!(try readRun(run.directory!)[0].records.contains { $0.kind == 4 || $0.kind == 5 }))
    }
}
