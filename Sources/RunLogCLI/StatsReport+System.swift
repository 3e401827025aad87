// SPDX-License-Identifier: Apache-2.0
import RunLog

/// System metrics and the environment in `runlog stats`.
extension StatsReport {
    /// The series of the training loop, and those of the system sampler (`system/…`).
    static func split(_ series: [SeriesStats]) -> (training: [SeriesStats], system: [SeriesStats]) {
        var training: [SeriesStats] = [], system: [SeriesStats] = []
        for s in series { if s.key.hasPrefix("system/") { system.append(s) } else { training.append(s) } }
        return (training, system)
    }

    /// The environment record as aligned lines: program, working directory,
    /// git, runtime, OS, CPU, memory, GPUs, job, packages, then any other key.
    static func environmentText(_ env: [Entry]) -> String {
        func value(_ key: String) -> Value? { env.first { $0.key == key }?.value }
        func string(_ v: Value?) -> String? {
            switch v {
            case .string(let s)?: return s
            case .int(let i)?: return String(i)
            case .bool(let b)?: return b ? "true" : "false"
            case nil: return nil
            case let other?:
                var j = CanonicalJSON(capacity: 64)
                j.value(other)
                return String(decoding: j.output, as: UTF8.self)
            }
        }
        func field(_ map: Value?, _ key: String) -> String? { string(map?.entries?.first { $0.key == key }?.value) }
        var lines: [(String, String)] = []
        var shown: Set<String> = []
        func add(_ label: String, _ key: String, _ text: String?) {
            shown.insert(key)
            if let text, !text.isEmpty { lines.append((label, text)) }
        }
        add("program", "program", string(value("program")))
        add("directory", "cwd", string(value("cwd")))
        let git = value("git")
        add("git", "git", git.map { _ in
            var parts = [field(git, "commit").map { String($0.prefix(12)) } ?? "?"]
            if let b = field(git, "branch") { parts.append("on " + b) }
            if field(git, "dirty") == "true" { parts.append("(dirty)") }
            if let r = field(git, "remote") { parts.append(r) }
            return parts.joined(separator: " ")
        })
        add("runtime", "runtime", string(value("runtime")))
        add("os", "os", string(value("os")))
        let cpu = value("cpu")
        add("cpu", "cpu", cpu.map { _ in [field(cpu, "count").map { $0 + " ×" }, field(cpu, "model")].compactMap { $0 }.joined(separator: " ") })
        if case .int(let bytes)? = value("memory") { add("memory", "memory", Formatting.bytes(bytes)) } else { shown.insert("memory") }
        let gpu = value("gpu")
        add("gpus", "gpu", gpu.map { _ in
            var names: [String] = []
            if case .list(let list)? = gpu?.entries?.first(where: { $0.key == "names" })?.value {
                names = list.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
            }
            var text = (field(gpu, "count") ?? "0") + (names.isEmpty ? "" : " × " + Set(names).sorted().joined(separator: ", "))
            if let d = field(gpu, "driver") { text += ", driver " + d }
            if let c = field(gpu, "cuda") { text += ", CUDA " + c }
            return text
        })
        let job = value("scheduler")
        add("job", "scheduler", job.map { _ in
            var parts = [(field(job, "name") ?? "job") + " " + (field(job, "job_id") ?? "?")]
            if let t = field(job, "array_task_id") { parts.append("task " + t) }
            if let p = field(job, "partition") { parts.append("partition " + p) }
            if let n = field(job, "nodes") { parts.append("nodes " + n) }
            return parts.joined(separator: ", ")
        })
        if case .list(let packages)? = value("packages") { add("packages", "packages", "\(packages.count) installed") }
        for e in env where !shown.contains(e.key) { lines.append((e.key, string(e.value) ?? "")) }
        let width = max(12, (lines.map(\.0.count).max() ?? 0) + 2)
        return lines.map { "  " + Formatting.column($0.0, width) + printable($0.1) + "\n" }.joined()
    }

    /// `s` with control characters shown as `?`, cut at 200 characters.
    static func printable(_ s: String) -> String {
        var clean = String(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        if clean.count > 200 { clean = String(clean.prefix(199)) + "…" }
        return clean
    }
}
