// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// `runlog ls`: statuses decided from the disk, the table, syncd's state.
@Suite struct ListTests {
    @Test func tableShowsEachRunWithItsStatusStepSizeAndSyncState() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Fixtures.makeRun(root: root, id: "aaa111", frames: [[.runStart(Fixtures.runStart("aaa111", project: "mnist", name: "cnn"))], Fixtures.metrics(rows: 120), [Fixtures.runEnd(.finished)]])
        try Fixtures.makeRun(root: root, id: "bbb222", frames: [[.runStart(Fixtures.runStart("bbb222", project: "imagenet", name: "resnet\u{1B}[31m"))], Fixtures.metrics(rows: 7), [Fixtures.runEnd(.failed)]])
        try FileManager.default.createDirectory(atPath: root + "/.syncd", withIntermediateDirectories: true)
        try #"{"version":1,"run_id":"aaa111","status":"pending","pending_bytes":2048,"last_error":"","unknown":[1,2]}"#.write(toFile: root + "/.syncd/aaa111.json", atomically: true, encoding: .utf8)
        try "not json".write(toFile: root + "/.syncd/bbb222.json", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/not-a-run", withIntermediateDirectories: true)
        try Fixtures.touchAll(root, seconds: 1_764_171_652)
        let sizeA = try FileManager.default.attributesOfItem(atPath: root + "/aaa111/logs/a0001-r0000-s0000.rlog")[.size] as! Int
        let sizeB = try FileManager.default.attributesOfItem(atPath: root + "/bbb222/logs/a0001-r0000-s0000.rlog")[.size] as! Int
        let r = try CLI.run(["ls", root])
        #expect(r.status == 0)
        func kib(_ n: Int) -> String { n < 1024 ? "\(n) B" : String(format: "%.1f KiB", Double(n) / 1024) }
        let sizeWidth = max(4, kib(sizeA).count, kib(sizeB).count)
        func pad(_ s: String) -> String { String(repeating: " ", count: sizeWidth - s.count) + s }
        #expect(r.stdout == """
            ID      PROJECT   NAME         STATUS    ATTEMPTS  LAST STEP  UPDATED (UTC)        \(pad("SIZE"))  SYNC
            aaa111  mnist     cnn          finished         1        119  2025-11-26 15:40:52  \(pad(kib(sizeA)))  pending 2.0 KiB
            bbb222  imagenet  resnet?[31m  failed           1          6  2025-11-26 15:40:52  \(pad(kib(sizeB)))  -

            """)
        let json = try CLI.jsonLines(try CLI.run(["ls", "--json", root]).stdout)
        #expect(json.map { $0["id"] as? String } == ["aaa111", "bbb222"])
        #expect(json[0]["status"] as? String == "finished")
        #expect(json[0]["last_step"] as? Int == 119)
        #expect(json[0]["size"] as? Int == sizeA)
        #expect(json[0]["last_update"] as? Int == 1_764_171_652)
        #expect((json[0]["sync"] as? [String: Any])?["pending_bytes"] as? Int == 2048)
        #expect(json[1]["name"] as? String == "resnet\u{1B}[31m")
        #expect(json[1]["sync"] is NSNull)
        // A run is what its logs say: renamed, it keeps its sync state.
        try FileManager.default.moveItem(atPath: root + "/aaa111", toPath: root + "/renamed")
        let renamed = try CLI.jsonLines(try CLI.run(["ls", "--json", root]).stdout)
        #expect(renamed.map { $0["id"] as? String } == ["bbb222", "renamed"])
        #expect((renamed[1]["sync"] as? [String: Any])?["pending_bytes"] as? Int == 2048)
    }

    /// A live file for process `pid`, as a writer on this host writes it.
    func writeLiveFile(_ path: String, pid: Int32) throws {
        let live = LiveFile(host: Host.name, pid: pid, pidStart: Host.processStartTicks(pid) ?? 0, bootID: Host.bootID, locked: false, heartbeatInterval: 5)
        try live.encoded().write(to: URL(fileURLWithPath: path))
    }

    func status(_ root: String, _ id: String) throws -> (String?, Int?) {
        let runs = try CLI.jsonLines(try CLI.run(["ls", "--json", root]).stdout)
        let run = runs.first { $0["id"] as? String == id }
        return (run?["status"] as? String, run?["last_step"] as? Int)
    }

    @Test func statusIsFinishedFailedRunningThenCrashedAfterSIGKILL() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Fixtures.makeRun(root: root, id: "done", frames: [[.runStart(Fixtures.runStart("done"))], [Fixtures.runEnd(.finished)]])
        try Fixtures.makeRun(root: root, id: "bad", frames: [[.runStart(Fixtures.runStart("bad"))], [Fixtures.runEnd(.failed)]])
        // A real writer process, with the liveness file a logger keeps.
        try FileManager.default.createDirectory(atPath: root + "/live/logs", withIntermediateDirectories: true)
        let writer = CLI.process(CLI.testWriter, ["format", root + "/live/logs/a0001-r0000-s0000.rlog"])
        let out = Pipe()
        writer.standardOutput = out
        try writer.run()
        defer { if writer.isRunning { kill(writer.processIdentifier, SIGKILL) } }
        _ = out.fileHandleForReading.availableData  // its first frame is written
        try writeLiveFile(root + "/live/logs/a0001-r0000.live", pid: writer.processIdentifier)
        #expect(try status(root, "done").0 == "finished")
        #expect(try status(root, "bad").0 == "failed")
        let (running, step) = try status(root, "live")
        #expect(running == "running")
        #expect(step != nil)
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        let (crashed, lastStep) = try status(root, "live")
        #expect(crashed == "crashed")
        #expect((lastStep ?? -1) >= (step ?? 0))
        // Its log is intact up to the kill: at most an incomplete tail.
        let v = try CLI.run(["verify", "--quiet", root + "/live"])
        #expect(v.status == 0, "\(v.stdout)")
    }
}
