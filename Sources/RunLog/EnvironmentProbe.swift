// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The environment record an attempt starts with (spec format.md §4.10):
/// program, working directory, git, runtime, OS, CPU, memory, GPUs, scheduler.
/// Whatever cannot be found out is left out.
enum EnvironmentProbe {
    static func entries(nvml: NVML? = NVML.shared, environment env: [String: String] = ProcessInfo.processInfo.environment) -> [Entry] {
        var out: [Entry] = []
        let cwd = FileManager.default.currentDirectoryPath
        let program = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments.first
        if let program { out.append(Entry("program", .string(program))) }
        out.append(Entry("cwd", .string(cwd)))
        let programDir = program.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
        if let git = Git.describe(directory: programDir ?? cwd) ?? (programDir != nil ? Git.describe(directory: cwd) : nil) {
            out.append(Entry("git", git))
        }
        out.append(Entry("runtime", .string("swift " + swiftVersion)))
        var u = utsname()
        if uname(&u) == 0 {
            func field<T>(_ f: T) -> String { withUnsafeBytes(of: f) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
            out.append(Entry("os", .string("\(field(u.sysname)) \(field(u.release)) \(field(u.machine))")))
        }
        var cpu: [Entry] = []
        if let model = cpuModel() { cpu.append(Entry("model", .string(model))) }
        cpu.append(Entry("count", .int(Int64(ProcessInfo.processInfo.processorCount))))
        out.append(Entry("cpu", .map(cpu)))
        out.append(Entry("memory", .int(Int64(clamping: ProcessInfo.processInfo.physicalMemory))))
        if let nvml { out.append(Entry("gpu", nvml.environment())) }
        if let scheduler = scheduler(env) { out.append(Entry("scheduler", scheduler)) }
        return out
    }

    static var swiftVersion: String {
        #if swift(>=6.3)
        return "6.3"
        #elseif swift(>=6.2)
        return "6.2"
        #elseif swift(>=6.1)
        return "6.1"
        #else
        return "6.0"
        #endif
    }

    static func cpuModel() -> String? {
        guard let text = ProcFile.text("/proc/cpuinfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return String(line[line.index(after: colon)...].trimmingSpaces) }
        }
        return nil
    }

    /// The batch job: Slurm, else PBS, else LSF.
    static func scheduler(_ env: [String: String]) -> Value? {
        let systems: [(String, job: String, task: [String], nodes: [String], partition: [String])] = [
            ("slurm", "SLURM_JOB_ID", ["SLURM_ARRAY_TASK_ID"], ["SLURM_JOB_NODELIST", "SLURM_NODELIST"], ["SLURM_JOB_PARTITION"]),
            ("pbs", "PBS_JOBID", ["PBS_ARRAY_INDEX", "PBS_ARRAYID"], [], ["PBS_QUEUE"]),
            ("lsf", "LSB_JOBID", ["LSB_JOBINDEX"], ["LSB_HOSTS"], ["LSB_QUEUE"]),
        ]
        for s in systems {
            guard let job = env[s.job], !job.isEmpty else { continue }
            func first(_ names: [String]) -> String? { names.lazy.compactMap { env[$0] }.first { !$0.isEmpty } }
            var e = [Entry("name", .string(s.0)), Entry("job_id", .string(job))]
            if let t = first(s.task), !(s.0 == "lsf" && t == "0") { e.append(Entry("array_task_id", .string(t))) }
            if let n = first(s.nodes) { e.append(Entry("nodes", .string(n))) }
            if let p = first(s.partition) { e.append(Entry("partition", .string(p))) }
            return .map(e)
        }
        return nil
    }
}

/// Repository URLs as runlog records them.
enum GitURL {
    /// `url` without the `user:password@` of its authority: a remote's URL
    /// may carry a token, and a run's environment is shown to its readers.
    /// URLs without `://` (`git@host:path`) hold no password and stay as they are.
    static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
    }
}

/// What `git` says about the work tree a directory is in.
enum Git {
    /// `commit`, `branch`, `remote` (credentials removed) and `dirty`, or nil
    /// when `directory` is in no work tree or git is not there. Each call is
    /// bounded in time.
    static func describe(directory: String) -> Value? {
        guard let commit = run(["rev-parse", "--verify", "-q", "HEAD"], in: directory), commit.count == 40 else { return nil }
        var e = [Entry("commit", .string(commit))]
        if let branch = run(["symbolic-ref", "-q", "--short", "HEAD"], in: directory), !branch.isEmpty {
            e.append(Entry("branch", .string(branch)))
        }
        if let remote = run(["config", "--get", "remote.origin.url"], in: directory), !remote.isEmpty {
            e.append(Entry("remote", .string(GitURL.withoutCredentials(remote))))
        }
        if let status = run(["status", "--porcelain", "--untracked-files=no"], in: directory) {
            e.append(Entry("dirty", .bool(!status.isEmpty)))
        }
        return .map(e)
    }

    /// The trimmed standard output of `git -C directory args`, nil when it fails or takes over 5 s.
    static func run(_ args: [String], in directory: String, timeout: Double = 5) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", directory] + args
        var env = ProcessInfo.processInfo.environment
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GIT_OPTIONAL_LOCKS"] = "0"  // `status` must not take the index lock of a repository someone works in
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let watchdog = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        watchdog.cancel()
        guard p.terminationStatus == 0, p.terminationReason == .exit else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
