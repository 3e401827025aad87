// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// `runlog demo` writes its run with the logger; the other subcommands read it.
@Suite struct DemoTests {
    func sha256(_ path: String) throws -> String {
        var h = SHA256Hasher()
        h.update(try Fixtures.bytes(path))
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }

    @Test func demoWritesARunThatVerifiesAndSummarizes() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try CLI.run(["demo", "--steps", "300", "--histograms-every", "100", "--checkpoint-every", "150", "--dir", root, "--id", "demo1", "--project", "p", "--name", "n"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutLines.last == root + "/demo1")
        let v = try CLI.run(["verify", "--quiet", root + "/demo1"])
        #expect(v.status == 0)
        #expect(v.stdout.hasPrefix("intact"))
        let stats = try #require(try CLI.jsonLines(try CLI.run(["stats", "--json", root + "/demo1"]).stdout).first)
        #expect(stats["project"] as? String == "p")
        #expect(stats["status"] as? String == "finished")
        let metrics = try #require(stats["metrics"] as? [String: [String: Any]])
        #expect(Set(metrics.keys) == ["loss", "accuracy", "lr", "grad_norm"])
        for (key, m) in metrics {
            #expect(m["count"] as? Int == 300, "\(key)")
            #expect(m["first_step"] as? Int == 0)
            #expect(m["last_step"] as? Int == 299)
        }
        #expect(metrics["lr"]?["max"] as? Double == 0.05)
        // Loss falls and accuracy rises over the run.
        let rows = try CLI.jsonLines(try CLI.run(["dump", "--json", "--kind", "metrics", root + "/demo1"]).stdout)
        func mean(_ key: String, _ slice: ArraySlice<[String: Any]>) -> Double {
            slice.compactMap { ($0["values"] as? [String: Double])?[key] }.reduce(0, +) / Double(slice.count)
        }
        #expect(mean("loss", rows[0..<50]) > 2 * mean("loss", rows[250..<300]))
        #expect(mean("accuracy", rows[0..<50]) < mean("accuracy", rows[250..<300]))
        let histograms = try #require(stats["histograms"] as? [String: [String: Any]])
        #expect(histograms["weights/fc1"]?["count"] as? Int == 3)
        #expect(histograms["weights/fc1"]?["bins"] as? Int == 64)
        let hist = try CLI.jsonLines(try CLI.run(["dump", "--json", "--kind", "histogram", root + "/demo1"]).stdout)
        #expect(hist.map { $0["count"] as? Int } == [100_000, 100_000, 100_000])
        // The checkpoint file is there, about 1 MB, with the SHA-256 its record holds.
        let checkpoints = try CLI.jsonLines(try CLI.run(["dump", "--json", "--kind", "checkpoint", root + "/demo1"]).stdout)
        try #require(checkpoints.count == 1)
        let c = checkpoints[0]
        #expect(c["step"] as? Int == 150)
        let path = root + "/demo1/" + (c["path"] as? String ?? "")
        #expect(c["path"] as? String == "checkpoints/model/150-model.bin")
        #expect(c["size"] as? Int == 1 << 20)
        #expect(try sha256(path) == c["sha256"] as? String)
        let config = try CLI.jsonLines(try CLI.run(["dump", "--json", "--kind", "config", root + "/demo1"]).stdout)
        #expect((config.first?["values"] as? [String: Any])?["model"] as? String == "resnet18")
    }

    /// Starts `runlog demo --rate` and returns once its log exists.
    func startLiveDemo(root: String, id: String, steps: Int, rate: Int) throws -> Process {
        let demo = CLI.process(CLI.runlog, ["demo", "--steps", "\(steps)", "--rate", "\(rate)", "--histograms-every", "0", "--checkpoint-every", "0", "--dir", root, "--id", id])
        demo.standardOutput = FileHandle.nullDevice
        try demo.run()
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: root + "/\(id)/logs/a0001-r0000-s0000.rlog") && Date() < deadline { usleep(20_000) }
        return demo
    }

    @Test func followReadsADemoRunWhileTheLoggerWritesIt() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let demo = try startLiveDemo(root: root, id: "live", steps: 300, rate: 150)
        defer { if demo.isRunning { kill(demo.processIdentifier, SIGKILL) } }
        let follow = try FollowTests.Running(["dump", "--follow", "--json", root + "/live"])
        #expect(follow.wait(timeout: 30) == 0)
        demo.waitUntilExit()
        #expect(demo.terminationStatus == 0)
        let lines = try CLI.jsonLines(follow.output)
        #expect(lines.filter { $0["kind"] as? String == "metrics" }.map { $0["step"] as? Int } == Array(0..<300))
        #expect(lines.last?["kind"] as? String == "run_end")
    }

    @Test func followStopsWhenTheWriterOfARunIsKilled() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let demo = try startLiveDemo(root: root, id: "gone", steps: 100000, rate: 100)
        defer { if demo.isRunning { kill(demo.processIdentifier, SIGKILL) } }
        let follow = try FollowTests.Running(["dump", "--follow", root + "/gone"])
        #expect(follow.waitForLines(10))
        kill(demo.processIdentifier, SIGKILL)
        demo.waitUntilExit()
        // The follower notices within seconds that nobody will write the run end.
        #expect(follow.wait(timeout: 20) == 0)
        #expect(follow.output.contains("metrics    step=0 "))
    }

    @Test func aDemoRunKilledWithSIGKILLIsCrashedAndWithCtrlCIsKilled() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (id, signal) in [("sigkill", SIGKILL), ("sigint", SIGINT)] {
            let demo = try startLiveDemo(root: root, id: id, steps: 100_000, rate: 100)
            // Wait until its first rows are on disk.
            let deadline = Date().addingTimeInterval(20)
            var running: [String: Any]?
            while Date() < deadline {
                running = try CLI.jsonLines(try CLI.run(["ls", "--json", root]).stdout).first { $0["id"] as? String == id }
                if running?["last_step"] is Int { break }
                usleep(100_000)
            }
            #expect(running?["status"] as? String == "running", "\(id)")
            kill(demo.processIdentifier, signal)
            demo.waitUntilExit()
            let after = try CLI.jsonLines(try CLI.run(["ls", "--json", root]).stdout).first { $0["id"] as? String == id }
            if signal == SIGKILL {
                #expect(after?["status"] as? String == "crashed")
            } else {
                #expect(demo.terminationStatus == 130)
                #expect(after?["status"] as? String == "killed")
            }
            #expect(try CLI.run(["verify", "--quiet", root + "/" + id]).status == 0)
        }
    }
}

/// `verify` checks the checkpoint files a run's records name.
@Suite struct CheckpointVerifyTests {
    @Test func verifyFindsMissingTruncatedAndAlteredCheckpointFiles() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let made = try CLI.run(["demo", "--steps", "301", "--histograms-every", "0", "--checkpoint-every", "100", "--dir", root, "--id", "ck"])
        #expect(made.status == 0)
        let run = root + "/ck"
        let ok = try CLI.run(["verify", "--checksums", run])
        #expect(ok.status == 0)
        #expect(ok.stdoutLines.last?.hasSuffix(", 3 checkpoint files)") == true, "\(ok.stdout)")
        let dir = run + "/checkpoints/model/"
        try FileManager.default.removeItem(atPath: dir + "100-model.bin")
        let fd = open(dir + "200-model.bin", O_WRONLY)
        #expect(ftruncate(fd, 1000) == 0)
        close(fd)
        var bytes = try Fixtures.bytes(dir + "300-model.bin")
        bytes[12345] ^= 1
        try Fixtures.write(bytes, to: dir + "300-model.bin")
        let plain = try CLI.run(["verify", "--quiet", run])
        #expect(plain.status == 1)
        let lines = plain.stdoutLines
        try #require(lines.count == 3)
        #expect(lines[0] == "\(dir)100-model.bin: checkpoint \"model\" of step 100: No such file or directory")
        #expect(lines[1] == "\(dir)200-model.bin: checkpoint \"model\" of step 200: 1000 bytes, its record says 1048576")
        #expect(lines[2].hasPrefix("damaged: 2 problems, 0 bytes dropped (1 file, "))
        #expect(lines[2].hasSuffix(", 3 checkpoint files)"))
        let summed = try CLI.run(["verify", "--quiet", "--checksums", run])
        #expect(summed.status == 1)
        #expect(summed.stdout.contains("\(dir)300-model.bin: checkpoint \"model\" of step 300: SHA-256 differs from its record\n"))
    }
}
