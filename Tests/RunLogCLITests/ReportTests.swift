// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// What `ls`, `stats`, `dump` and `export` report on logs built to catch
/// the easy wrong answers: a lower step logged last, a constant curve, a
/// filter that names keyless kinds, times in both forms.
@Suite struct ReportTests {
    @Test func lsShowsTheHighestStepNotTheStepOfTheLastRow() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var late = MetricsBlock.Builder()
        late.append(step: 500, time: Fixtures.t0 + 2_000_000_000, values: [("val/acc", 0.5)])
        try Fixtures.makeRun(root: root, id: "r1", frames: [[.runStart(Fixtures.runStart("r1"))], Fixtures.metrics(rows: 1000, perBlock: 300), [.metrics(late.build()!)]])
        let runs = try CLI.jsonLines(try CLI.run(["ls", "--json", root]).stdout)
        #expect(runs.first?["last_step"] as? Int == 999)
        let table = try CLI.run(["ls", root]).stdoutLines
        #expect(table.count == 2)
        #expect(table[1].contains("  999  "))
    }

    @Test func aConstantSeriesIsAFlatSparkline() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var b = MetricsBlock.Builder()
        var blocks: [Record] = []
        for i in 0..<115 {
            b.append(step: Int64(i), time: Fixtures.t0 + Int64(i), values: [("lr/group_0", 0.05), ("loss", Double(115 - i))])
            if b.rowCount == 10 { blocks.append(.metrics(b.build()!)) }
        }
        blocks.append(.metrics(b.build()!))
        try Fixtures.writeLog(dir + "/c.rlog", header: Fixtures.header("c"), frames: [blocks])
        let r = try CLI.run(["stats", "--json", dir + "/c.rlog"])
        #expect(r.status == 0)
        let metrics = try #require(try CLI.jsonLines(r.stdout).first?["metrics"] as? [String: [String: Any]])
        #expect(metrics["lr/group_0"]?["sparkline"] as? String == String(repeating: "▄", count: 32))
        // A falling series still spans the full height.
        let loss = try #require(metrics["loss"]?["sparkline"] as? String)
        #expect(loss.first == "█" && loss.last == "▁")
    }

    @Test func statsNamesWhatBytesPerMetricPointCounts() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var h = Histogram(key: "w", step: 1, time: Fixtures.t0, bins: .uniform(low: 0, high: 1), counts: [1, 2])
        h.count = 3
        try Fixtures.writeLog(dir + "/h.rlog", header: Fixtures.header("h"), frames: [Fixtures.metrics(rows: 100) + [.histogram(h)]])
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/h.rlog")[.size] as? Int)
        let r = try CLI.run(["stats", dir + "/h.rlog"])
        let line = try #require(r.stdoutLines.first { $0.hasPrefix("size") })
        let perPoint = String(format: "%.2f", Double(size) / 200)
        let onDisk = size < 1024 ? "\(size) B" : String(format: "%.1f KiB", Double(size) / 1024)
        #expect(line.hasPrefix("size        \(onDisk) on disk (\(perPoint) bytes per metric point, all records included), "))
        // The split: the frame's bytes shared by decoded size, so the metrics get less than all of it.
        let json = try #require(try CLI.jsonLines(try CLI.run(["stats", "--json", dir + "/h.rlog"]).stdout).first)
        let metrics = try #require(json["metrics_bytes_on_disk"] as? Int)
        let histograms = try #require(json["histograms_bytes_on_disk"] as? Int)
        let frameBytes = Double((json["bytes_stored"] as! Int) + Frame.headerSize)
        let content = Double(json["bytes_decoded"] as! Int)
        let histogramBytes = Double(Record.histogram(h).encoded.count)
        #expect(abs(Double(histograms) - frameBytes * histogramBytes / content) <= 1)
        #expect(abs(Double(metrics) - frameBytes * (content - histogramBytes) / content) <= 1)
        let split = try #require(r.stdoutLines.first { $0.hasPrefix("            of which metrics ≈ ") })
        #expect(split.hasSuffix("(\(String(format: "%.2f", Double(metrics) / 200)) bytes per point), histograms ≈ \(histograms) B (\(histograms) bytes each)"))
        // Without histograms there is nothing to split.
        try Fixtures.writeLog(dir + "/m.rlog", header: Fixtures.header("m"), frames: [Fixtures.metrics(rows: 100)])
        #expect(!(try CLI.run(["stats", dir + "/m.rlog"]).stdout.contains("of which")))
    }

    @Test func kindsNamedWithKeyOrStepsAreKept() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Fixtures.writeLog(dir + "/k.rlog", header: Fixtures.header("k"), frames: [[.runStart(Fixtures.runStart("k"))], Fixtures.metrics(rows: 3), [Fixtures.runEnd(.finished)]])
        let r = try CLI.run(["dump", "--kind", "metrics,run_end", "--key", "loss", dir + "/k.rlog"])
        #expect(r.status == 0)
        #expect(r.stdoutLines == [
            "metrics    step=0 time=2025-11-26T15:40:52.000000Z loss=2.0",
            "metrics    step=1 time=2025-11-26T15:40:52.001000Z loss=1.0",
            "metrics    step=2 time=2025-11-26T15:40:52.002000Z loss=0.6666666666666666",
            "run_end    status=finished exit_code=0 end_time=2025-11-26T15:41:01.000000Z",
        ])
        // Without --kind, --key still leaves out the records that have no key.
        let keyOnly = try CLI.run(["dump", "--key", "loss", "--steps", "1:", dir + "/k.rlog"])
        #expect(keyOnly.stdoutLines.count == 2)
        #expect(keyOnly.stdoutLines.allSatisfy { $0.hasPrefix("metrics ") })
    }

    @Test func exportWritesEpochSecondsOrISOTimes() throws {
        let iso = try CLI.run(["export", "--csv", "--time", "iso", "--steps", "0", "all-kinds.rlog"], in: CLI.vectors)
        #expect(iso.status == 0)
        #expect(iso.stdout == """
            step,time,key,value
            0,2025-11-26T15:40:52.123466Z,training/loss,2.5
            0,2025-11-26T15:40:52.123466Z,lr,0.01

            """)
        let epoch = try CLI.run(["export", "--csv", "--time", "epoch", "--steps", "0", "--wide", "all-kinds.rlog"], in: CLI.vectors)
        #expect(epoch.stdout == "step,time,training/loss,lr\n0,1764171652.123466,2.5,0.01\n")
        let bad = try CLI.run(["export", "--csv", "--time", "local", "all-kinds.rlog"], in: CLI.vectors)
        #expect(bad.status == 2)
    }

    @Test func followWaitsForARunThatDoesNotExistYet() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let without = try CLI.run(["dump", "--follow", "--root", root, "later"])
        #expect(without.status == 2)
        let waiting = try FollowTests.Running(["dump", "--follow", "--wait", "--root", root, "later"])
        usleep(400_000)
        #expect(waiting.process.isRunning)
        try Fixtures.makeRun(root: root, id: "later", frames: [[.runStart(Fixtures.runStart("later"))], Fixtures.metrics(rows: 2), [Fixtures.runEnd(.finished)]])
        #expect(waiting.wait() == 0)
        let lines = waiting.output.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines.last?.hasPrefix("run_end    status=finished") == true)
        let misuse = try CLI.run(["dump", "--wait", "--root", root, "later"])
        #expect(misuse.status == 2)
    }
}
