// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// Runs named by id under ROOT, several PATHs, and a root of runs given to `verify`.
@Suite struct RunArgumentTests {
    /// A root with two finished runs, `aaa111` (120 rows) and `bbb222` (7 rows).
    func makeRoot() throws -> String {
        let root = try CLI.temporaryDirectory()
        try Fixtures.makeRun(root: root, id: "aaa111", frames: [[.runStart(Fixtures.runStart("aaa111"))], Fixtures.metrics(rows: 120), [Fixtures.runEnd(.finished)]])
        try Fixtures.makeRun(root: root, id: "bbb222", frames: [[.runStart(Fixtures.runStart("bbb222"))], Fixtures.metrics(rows: 7), [Fixtures.runEnd(.finished)]])
        return root
    }

    @Test func aRunIDIsLookedUpUnderRootFromTheFlagOrTheEnvironment() throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let elsewhere = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        let byPath = try CLI.run(["stats", "--json", root + "/aaa111"])
        let byFlag = try CLI.run(["stats", "--json", "--root", root, "aaa111"], in: elsewhere)
        let byEnvironment = try CLI.run(["stats", "--json", "aaa111"], in: elsewhere, environment: ["RUNLOG_DIR": root])
        #expect(byPath.status == 0 && byFlag.status == 0 && byEnvironment.status == 0)
        #expect(byFlag.stdout == byPath.stdout)
        #expect(byEnvironment.stdout == byPath.stdout)
        let export = try CLI.run(["export", "--csv", "--root", root, "bbb222"], in: elsewhere)
        #expect(export.status == 0)
        #expect(export.stdoutLines.count == 1 + 2 * 7)
        let dump = try CLI.run(["dump", "--kind", "run_end", "aaa111"], in: elsewhere, environment: ["RUNLOG_DIR": root])
        #expect(dump.stdout.hasPrefix("run_end    status=finished"))
        // A name that is neither a path nor a run under ROOT: one line naming both, status 2.
        let missing = try CLI.run(["stats", "--root", root, "ccc333"], in: elsewhere)
        #expect(missing.status == 2)
        #expect(missing.stdout == "")
        #expect(missing.stderr == "runlog: ccc333: no such file or directory, nor a run under \(root)\n")
        // A root of runs where one run is wanted: the error names a run in it.
        let wholeRoot = try CLI.run(["logs", root])
        #expect(wholeRoot.status == 2 && wholeRoot.stdout == "")
        #expect(wholeRoot.stderr == "runlog: \(root): a directory of runs, not a run: name one, e.g. \(root)/aaa111 (`runlog ls \(root)` lists them)\n")
        let empty = try CLI.run(["stats", elsewhere])
        #expect(empty.stderr == "runlog: \(elsewhere): not a run directory (it has no logs/ directory)\n")
        // A path with a slash is never looked up under ROOT.
        let relative = try CLI.run(["stats", "--root", root, "./aaa111"], in: elsewhere)
        #expect(relative.status == 2)
    }

    @Test func severalPathsGiveOneReportEachAndTheWorstStatus() throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let stats = try CLI.run(["stats", "--json", "--root", root, "aaa111", "bbb222"])
        #expect(stats.status == 0)
        let reports = try CLI.jsonLines(stats.stdout)
        #expect(reports.map { $0["run_id"] as? String } == ["aaa111", "bbb222"])
        #expect(reports.map { $0["path"] as? String } == [root + "/aaa111", root + "/bbb222"])
        let text = try CLI.run(["stats", "--root", root, "aaa111", "bbb222"])
        #expect(text.stdout.components(separatedBy: "\n\nrun         bbb222").count == 2)
        let dump = try CLI.run(["dump", "--kind", "run_start", "--root", root, "aaa111", "nope", "bbb222"])
        #expect(dump.status == 2)
        #expect(dump.stdoutLines.map { String($0.prefix(30)) } == [#"run_start  run_id="aaa111" pro"#, #"run_start  run_id="bbb222" pro"#])
        #expect(dump.stderr == "runlog: nope: no such file or directory, nor a run under \(root)\n")
        let follow = try CLI.run(["dump", "--follow", root + "/aaa111", root + "/bbb222"])
        #expect(follow.status == 2)
        #expect(follow.stderr.contains("--follow follows one run"))
    }

    @Test func verifyOfARootChecksEveryRunAndCountsThem() throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let good = try CLI.run(["verify", "--quiet", root])
        #expect(good.status == 0)
        #expect(good.stdout == """
            \(root)/aaa111: intact (1 file, 3 frames, 3 records)
            \(root)/bbb222: intact (1 file, 3 frames, 3 records)
            2 checked: 2 intact

            """)
        // Flip a byte inside the second frame of bbb222: that run is damaged, the other intact.
        let log = root + "/bbb222/logs/a0001-r0000-s0000.rlog"
        var bytes = try Fixtures.bytes(log)
        let reader = try LogReader(path: log)
        _ = try reader.next()
        let second = try #require(try reader.next())
        bytes[Int(second.offset) + second.size - 3] ^= 0x40
        try Fixtures.write(bytes, to: log)
        let bad = try CLI.run(["verify", "--quiet", root])
        #expect(bad.status == 1)
        let lines = bad.stdoutLines
        #expect(lines.first == "\(root)/aaa111: intact (1 file, 3 frames, 3 records)")
        #expect(lines.last == "2 checked: 1 intact, 1 damaged")
        #expect(lines.contains { $0.hasPrefix("\(root)/bbb222: damaged: 1 problem") })
        // One run given alone keeps the single-run verdict, without its path.
        let one = try CLI.run(["verify", "--quiet", "--root", root, "aaa111"])
        #expect(one.stdout == "intact (1 file, 3 frames, 3 records)\n")
    }
}
