// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// The JSON forms, checked field by field against what was written.
@Suite struct JSONOutputTests {
    func double(_ any: Any?) -> Double? {
        if let n = any as? NSNumber { return n.doubleValue }
        switch any as? String {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return nil
        }
    }

    @Test func dumpJSONGivesBackEveryRecordWritten() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var start = Fixtures.runStart("j1")
        start.tags = ["a", "b"]
        start.argv = ["train.py", "--x"]
        var b = MetricsBlock.Builder()
        b.append(step: 5, time: Fixtures.t0 + 1, values: [("loss", 0.1), ("lr", 1e-5)])
        b.append(step: 6, time: Fixtures.t0 + 2, values: [("lr", -.nan)])
        b.append(step: 4, time: Fixtures.t0 - 3, values: [("loss", .infinity), ("lr", 123456789.125)])
        let block = b.build()!
        var h = Histogram(key: "w", step: 5, time: Fixtures.t0 + 7, bins: .edges([0, 0.5, 2]), counts: [4, 6])
        (h.count, h.min, h.max, h.sum, h.sumSquares, h.nonfinite) = (10, 0.25, 1.75, 9.5, 12.25, 2)
        let sha = (0..<32).map { UInt8($0 * 7 & 255) }
        var c = Checkpoint(name: "best", step: 5, time: Fixtures.t0 + 8, path: "checkpoints/best/5-m.pt", size: 99, sha256: sha)
        c.aliases = ["best"]
        c.metadata = [Entry("acc", 0.5)]
        let records: [Record] = [
            .runStart(start), .config([Entry("lr", 0.01), Entry("opt", ["name": "sgd"])]), .metrics(block), .histogram(h),
            .checkpoint(c), .tags(TagsUpdate(add: ["x"], remove: ["a"], notes: "n")), .summary([Entry("best", 0.5)]),
            .runEnd(RunEnd(status: .failed, exitCode: 3, endTime: Fixtures.t0 + 9, message: "oom")),
        ]
        try Fixtures.writeLog(dir + "/j.rlog", header: Fixtures.header("j1"), frames: [Array(records[0..<3]), Array(records[3...])])
        let r = try CLI.run(["dump", "--json", dir + "/j.rlog"])
        #expect(r.status == 0)
        let lines = try CLI.jsonLines(r.stdout)
        try #require(lines.count == 1 + 2 + 3 + 5)
        #expect(lines[0]["kind"] as? String == "header")
        #expect(lines[0]["run_id"] as? String == "j1")
        #expect(lines[0]["writer"] as? String == "fixtures/1")
        #expect(double(lines[0]["created"]) == Double(Fixtures.t0) / 1e6)
        #expect(lines[1]["kind"] as? String == "run_start")
        #expect(lines[1]["project"] as? String == start.project)
        #expect(lines[1]["tags"] as? [String] == start.tags)
        #expect(lines[1]["argv"] as? [String] == start.argv)
        #expect(lines[1]["pid"] as? Int == 7)
        #expect(lines[2]["kind"] as? String == "config")
        let config = lines[2]["values"] as? [String: Any]
        #expect(double(config?["lr"]) == 0.01)
        #expect((config?["opt"] as? [String: Any])?["name"] as? String == "sgd")
        // Metrics: one line per row, values exactly as written.
        var row = 0
        try block.forEachRow { step, time, values in
            let line = lines[3 + row]
            #expect(line["kind"] as? String == "metrics")
            #expect(line["step"] as? Int64 == step)
            #expect(line["time"] as? NSNumber != nil)
            let got = try #require(line["values"] as? [String: Any])
            #expect(Set(got.keys) == Set(values.map(\.key)))
            for (key, value) in values {
                let read = try #require(double(got[key]))
                #expect(read.bitPattern == value.bitPattern || (read.isNaN && value.isNaN), "\(key) at step \(step)")
            }
            row += 1
        }
        // The time member is microseconds written as seconds with six digits.
        #expect(r.stdout.contains(#""step":4,"time":1764171651.999997,"#))
        let hist = lines[6]
        #expect(hist["kind"] as? String == "histogram")
        #expect(hist["edges"] as? [Double] == [0, 0.5, 2])
        #expect(hist["counts"] as? [Int] == [4, 6])
        #expect(hist["nonfinite"] as? Int == 2)
        #expect(double(hist["sum_squares"]) == 12.25)
        let ckpt = lines[7]
        #expect(ckpt["sha256"] as? String == sha.map { String(format: "%02x", $0) }.joined())
        #expect(ckpt["path"] as? String == c.path)
        #expect(ckpt["aliases"] as? [String] == ["best"])
        #expect(lines[8]["notes"] as? String == "n")
        #expect((lines[9]["values"] as? [String: Any])?["best"] as? Double == 0.5)
        #expect(lines[10]["status"] as? String == "failed")
        #expect(lines[10]["exit_code"] as? Int == 3)
        #expect(lines[10]["message"] as? String == "oom")
    }

    @Test func filtersSelectKindsKeysAndSteps() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Fixtures.makeRun(root: dir, id: "f1", frames: [[.runStart(Fixtures.runStart("f1"))], Fixtures.metrics(rows: 50, perBlock: 7), [Fixtures.runEnd(.finished)]])
        let byKind = try CLI.jsonLines(try CLI.run(["dump", "--json", "--kind", "run_start,run_end", run]).stdout)
        #expect(byKind.map { $0["kind"] as? String } == ["run_start", "run_end"])
        let r = try CLI.run(["dump", "--json", "--key", "acc*", "--steps", "10:19", run])
        #expect(r.status == 0)
        let rows = try CLI.jsonLines(r.stdout)
        #expect(rows.map { $0["step"] as? Int } == Array(10...19))
        for line in rows {
            let values = try #require(line["values"] as? [String: Double])
            #expect(Array(values.keys) == ["accuracy"])
            #expect(values["accuracy"] == Fixtures.accuracy(line["step"] as! Int, 50))
        }
        let open = try CLI.jsonLines(try CLI.run(["dump", "--json", "--steps", "45:", run]).stdout)
        #expect(open.map { $0["step"] as? Int } == Array(45...49))
        let text = try CLI.run(["dump", "--key", "loss", "--steps", "3", run])
        #expect(text.stdout == "metrics    step=3 time=2025-11-26T15:40:52.003000Z loss=0.5\n")
    }

    @Test func statsJSONMatchesTheWrittenSeries() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = 1234
        try Fixtures.writeLog(dir + "/s.rlog", header: Fixtures.header("s2"), frames: [[.runStart(Fixtures.runStart("s2"))], Fixtures.metrics(rows: n, first: 10, perBlock: 100)])
        let r = try CLI.run(["stats", "--json", dir + "/s.rlog"])
        #expect(r.status == 0)
        let object = try #require(try CLI.jsonLines(r.stdout).first)
        #expect(object["run_id"] as? String == "s2")
        #expect((object["records"] as? [String: Int])?["metrics"] == n)
        #expect(object["points"] as? Int == 2 * n)
        let metrics = try #require(object["metrics"] as? [String: [String: Any]])
        let loss = try #require(metrics["loss"])
        #expect(loss["count"] as? Int == n)
        #expect(loss["first_step"] as? Int == 10)
        #expect(loss["last_step"] as? Int == n + 9)
        #expect(double(loss["max"]) == Fixtures.loss(10))
        #expect(double(loss["min"]) == Fixtures.loss(n + 9))
        #expect(double(loss["last"]) == Fixtures.loss(n + 9))
        #expect((loss["sparkline"] as? String)?.count == 32)
        // Foundation's JSON parser does not always round correctly: check the exact text too.
        #expect(r.stdout.contains(#""accuracy":{"count":\#(n),"first_step":10,"last_step":\#(n + 9),"min":\#(Fixtures.accuracy(10, n)),"max":\#(Fixtures.accuracy(n + 9, n)),"last":\#(Fixtures.accuracy(n + 9, n)),"#))
        let ratio = try #require(double(object["compression_ratio"]))
        #expect(ratio > 1)
        #expect(object["bytes_on_disk"] as? Int == (try FileManager.default.attributesOfItem(atPath: dir + "/s.rlog")[.size] as? Int))
    }
}
