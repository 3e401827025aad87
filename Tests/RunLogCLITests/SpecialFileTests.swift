// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// FIFOs, devices and symbolic links where logs, liveness files and
/// checkpoints belong: every reading subcommand ends in time, names the file
/// and reads nothing but regular files inside the run directory.
@Suite struct SpecialFileTests {
    /// A finished demo run `r1` with two checkpoints under a fresh root.
    static func demoRun() throws -> (root: String, run: String) {
        let root = try CLI.temporaryDirectory()
        let r = try CLI.run(["demo", "--steps", "30", "--checkpoint-every", "10", "--histograms-every", "0", "--dir", root, "--id", "r1"])
        #expect(r.status == 0, "\(r.stderr)")
        return (root, root + "/r1")
    }

    @Test func aFIFOInLogsHangsNoReader() throws {
        let (root, run) = try Self.demoRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fifo = run + "/logs/a0001-r0000-s0001.rlog"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(mkfifo(run + "/logs/a0002-r0000.live", 0o644) == 0)
        let cases: [[String]] = [["ls", root], ["ls", "--json", root], ["verify", run], ["verify", "--checksums", run],
                                 ["stats", run], ["stats", "--json", run], ["dump", run], ["export", "--csv", run],
                                 ["dump", fifo], ["verify", fifo]]
        for args in cases {
            let started = Date()
            let r = try CLI.run(args, timeout: 20)
            #expect(Date().timeIntervalSince(started) < 15, "\(args) hung")
            #expect(r.status < 128, "\(args): status \(r.status)")
            if args.first == "verify" || args.last == fifo {
                let said = r.stdout + r.stderr
                #expect(said.contains(fifo) && said.contains("not a regular file"), "\(args): \(said)")
            }
        }
        #expect(try CLI.run(["ls", root]).stdout.contains("r1"))
        #expect(try CLI.run(["verify", fifo]).status == 2)
        #expect(try CLI.run(["verify", run]).status == 1)
    }

    @Test func aLogNamedThroughASymbolicLinkIsReadAtItsTarget() throws {
        let (root, run) = try Self.demoRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(symlink(run + "/logs/a0001-r0000-s0000.rlog", root + "/link.rlog") == 0)
        let r = try CLI.run(["verify", root + "/link.rlog"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func checkpointsThatAreFIFOsOrLinksOutOfTheRunAreRefused() throws {
        let (root, run) = try Self.demoRun()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let first = run + "/checkpoints/model/10-model.bin", second = run + "/checkpoints/model/20-model.bin"
        // The same bytes outside the run: the hash would match, the link is refused all the same.
        let outside = root + "/outside.bin"
        try FileManager.default.moveItem(atPath: first, toPath: outside)
        #expect(symlink(outside, first) == 0)
        try FileManager.default.removeItem(atPath: second)
        #expect(mkfifo(second, 0o644) == 0)
        let started = Date()
        let r = try CLI.run(["verify", "--checksums", run], timeout: 20)
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.contains("\(first): leads out of the run directory"), "\(r.stdout)")
        #expect(r.stdout.contains("\(second): not a regular file"), "\(r.stdout)")
        // A directory of the run linked to the outside is refused too.
        try FileManager.default.removeItem(atPath: first)
        try FileManager.default.removeItem(atPath: second)
        try FileManager.default.moveItem(atPath: run + "/checkpoints/model", toPath: root + "/model")
        try FileManager.default.moveItem(atPath: outside, toPath: root + "/model/10-model.bin")
        #expect(symlink(root + "/model", run + "/checkpoints/model") == 0)
        let linkedDirectory = try CLI.run(["verify", "--checksums", run])
        #expect(linkedDirectory.stdout.contains("\(first): leads out of the run directory"), "\(linkedDirectory.stdout)")
    }
}
