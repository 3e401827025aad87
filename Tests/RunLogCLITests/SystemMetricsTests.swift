// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// A stand-in `libnvidia-ml.so.1`, compiled from Tests/Fixtures/fake-nvml once per test process.
enum FakeNVML {
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "runlog-fake-nvml-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let source = CLI.packageRoot.appendingPathComponent("Tests/Fixtures/fake-nvml/fake_nvml.c").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["cc", "-shared", "-fPIC", "-O1", "-o", dir + "/libnvidia-ml.so.1", source]
        try? p.run()
        p.waitUntilExit()
        return dir
    }()

    static let twoGPUs = "Tesla T4,37,1024,15360,61,35000,70000;Tesla T4,64,2048,15360,66,52500,70000"

    /// The environment that makes the loader find the fake as `libnvidia-ml.so.1`.
    static func environment(gpus: String = twoGPUs, fail: String? = nil) -> [String: String] {
        var env = ["LD_LIBRARY_PATH": directory, "FAKE_NVML_GPUS": gpus, "RUNLOG_SYSTEM_METRICS_INTERVAL": "0.1"]
        if let fail { env["FAKE_NVML_FAIL"] = fail }
        return env
    }
}

/// System metrics and the environment record, written by the logger in a `runlog demo` process.
@Suite struct SystemMetricsTests {
    /// Runs a demo of about a second and returns its rows and environment.
    func demo(_ env: [String: String]) throws -> (rows: [[String: Any]], environment: [String: Any]?, stderr: String) {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try CLI.run(["demo", "--steps", "100", "--rate", "100", "--dir", root, "--id", "sys"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try CLI.jsonLines(try CLI.run(["dump", "--json", root + "/sys"]).stdout)
        let rows = lines.filter { $0["kind"] as? String == "metrics" }
        let environment = lines.first { $0["kind"] as? String == "environment" }?["values"] as? [String: Any]
        return (rows, environment, r.stderr)
    }

    func systemRows(_ rows: [[String: Any]]) -> [(step: Int, values: [String: Double])] {
        rows.compactMap { row in
            guard let values = row["values"] as? [String: Double], values.keys.contains(where: { $0.hasPrefix("system/") }) else { return nil }
            return (row["step"] as! Int, values)
        }
    }

    @Test func scriptedGPUsAppearUnderMLflowsNamesWithTheSampleIndexAsStep() throws {
        let (rows, env, stderr) = try demo(FakeNVML.environment())
        #expect(stderr == "")
        let samples = systemRows(rows)
        #expect(samples.count >= 3, "\(samples.count) samples in about a second at 0.1 s")
        #expect(samples.map(\.step) == Array(0..<samples.count))
        let last = try #require(samples.last?.values)
        #expect(last["system/gpu_0_utilization_percentage"] == 37 && last["system/gpu_1_utilization_percentage"] == 64)
        #expect(last["system/gpu_0_memory_usage_megabytes"] == 1024 * 1048576 / 1e6)
        #expect(last["system/gpu_1_memory_usage_percentage"] == 2048.0 / 15360 * 100)
        #expect(last["system/gpu_0_temperature_celsius"] == 61 && last["system/gpu_1_temperature_celsius"] == 66)
        #expect(last["system/gpu_0_power_usage_watts"] == 35 && last["system/gpu_1_power_usage_percentage"] == 75)
        for key in ["cpu_utilization_percentage", "process_cpu_utilization_percentage", "process_memory_rss_megabytes",
                    "system_memory_usage_megabytes", "system_memory_usage_percentage", "disk_usage_percentage",
                    "disk_usage_megabytes", "disk_available_megabytes", "network_receive_megabytes", "network_transmit_megabytes"] {
            #expect(last["system/" + key] != nil, "system/\(key)")
        }
        #expect((last["system/process_memory_rss_megabytes"] ?? 0) > 1)
        #expect((0...100).contains(last["system/system_memory_usage_percentage"] ?? -1))
        // The training loop's own steps are untouched by the sampler's.
        let lossSteps = rows.compactMap { ($0["values"] as? [String: Double])?["loss"] != nil ? $0["step"] as? Int : nil }
        #expect(lossSteps == Array(0..<100))
        let gpu = try #require(env?["gpu"] as? [String: Any])
        #expect(gpu["count"] as? Int == 2 && gpu["names"] as? [String] == ["Tesla T4", "Tesla T4"])
        #expect(gpu["driver"] as? String == "550.54.15" && gpu["cuda"] as? String == "12.4")
        #expect(gpu["memory"] as? [Int] == [15360 << 20, 15360 << 20])
    }

    @Test func withoutNVMLThereAreNoGPUKeysAndNoError() throws {
        var env = FakeNVML.environment()
        env["LD_LIBRARY_PATH"] = "/nonexistent"
        let (rows, environment, stderr) = try demo(env)
        #expect(stderr == "")
        let samples = systemRows(rows)
        #expect(samples.count >= 3)
        #expect(!samples.contains { $0.values.keys.contains { $0.contains("gpu") } })
        #expect(samples.allSatisfy { $0.values["system/cpu_utilization_percentage"] != nil })
        #expect(environment?["gpu"] == nil && environment?["cpu"] != nil && environment?["runtime"] as? String != nil)
    }

    @Test func aFailingNVMLCallIsReportedOnceAndTheOtherValuesStillCome() throws {
        let (rows, _, stderr) = try demo(FakeNVML.environment(fail: "utilization"))
        #expect(stderr == "runlog: system metrics: an NVML call failed for GPU 0; its missing values are skipped\n")
        let samples = systemRows(rows)
        #expect(samples.count >= 3)
        #expect(samples.allSatisfy { $0.values["system/gpu_0_utilization_percentage"] == nil && $0.values["system/gpu_0_temperature_celsius"] == 61 })
    }

    @Test func anNVMLThatCannotStartGivesNoGPUsAndTheRunGoesOn() throws {
        let (rows, environment, stderr) = try demo(FakeNVML.environment(fail: "init"))
        #expect(stderr == "")
        #expect(!systemRows(rows).isEmpty && environment?["gpu"] == nil)
    }

    @Test func statsGroupsSystemMetricsAndLsShowsMeanGPUUtilization() throws {
        let root = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try CLI.run(["demo", "--steps", "60", "--rate", "100", "--dir", root, "--id", "gpu"], environment: FakeNVML.environment()).status == 0)
        #expect(try CLI.run(["demo", "--steps", "10", "--dir", root, "--id", "nogpu"], environment: ["RUNLOG_SYSTEM_METRICS_INTERVAL": "0"]).status == 0)
        let text = try CLI.run(["stats", root + "/gpu"]).stdout
        let system = try #require(text.components(separatedBy: "\nsystem metrics (keys under system/)\n").last)
        #expect(system.contains("\n  gpu_1_utilization_percentage "))
        #expect(system.contains("\n  cpu_utilization_percentage "))
        let metrics = try #require(text.components(separatedBy: "\nmetrics\n").last?.components(separatedBy: "\nsystem metrics").first)
        #expect(metrics.contains("\n  loss ") && !metrics.contains("system/") && !metrics.contains("gpu_"))
        let json = try #require(try CLI.jsonLines(try CLI.run(["stats", "--json", root + "/gpu"]).stdout).first)
        let systemKeys = Set((json["system"] as? [String: Any] ?? [:]).keys)
        #expect(systemKeys.contains("system/gpu_0_temperature_celsius"))
        #expect(Set((json["metrics"] as? [String: Any] ?? [:]).keys) == ["loss", "accuracy", "lr", "grad_norm"])
        // Mean of 37 % and 64 %: 50.5.
        let ls = try CLI.run(["ls", root])
        #expect(ls.stdoutLines[0].hasPrefix("ID     PROJECT  NAME       STATUS    ATTEMPTS  LAST STEP  GPU  UPDATED (UTC)"))
        let gpuLine = try #require(ls.stdoutLines.first { $0.hasPrefix("gpu ") })
        #expect(gpuLine.contains("       59  50%  ") || gpuLine.contains("       59  51%  "), "\(gpuLine)")
        #expect(try #require(ls.stdoutLines.first { $0.hasPrefix("nogpu ") }).contains("       9    -  "))
        let lsJSON = try CLI.jsonLines(try CLI.run(["ls", "--json", root]).stdout)
        #expect(lsJSON.first { $0["id"] as? String == "gpu" }?["gpu_utilization"] as? Double == 50.5)
        #expect(lsJSON.first { $0["id"] as? String == "nogpu" }?["gpu_utilization"] is NSNull)
    }

    @Test func intervalZeroTurnsSamplingOff() throws {
        var env = FakeNVML.environment()
        env["RUNLOG_SYSTEM_METRICS_INTERVAL"] = "0"
        let (rows, _, _) = try demo(env)
        #expect(systemRows(rows).isEmpty && rows.count == 100)
    }
}
