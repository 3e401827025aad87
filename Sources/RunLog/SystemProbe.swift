// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// Reads the machine's and this process's counters from `/proc` and the run
/// root's file system, and turns two readings into MLflow's system metrics.
///
/// Each source is read on its own: one that fails gives no values (the
/// caller reports it) and the others still do.
struct SystemProbe {
    /// The counters of one moment; nil where a source could not be read.
    struct Reading {
        var nanos: UInt64 = 0
        /// Busy and total jiffies of all CPUs (`/proc/stat`).
        var cpu: (busy: UInt64, total: UInt64)?
        /// This process's user + system CPU time in clock ticks, and its RSS in bytes (`/proc/self/stat`).
        var process: (ticks: UInt64, rss: UInt64)?
        /// Bytes of memory in total and available (`/proc/meminfo`).
        var memory: (total: UInt64, available: UInt64)?
        /// Bytes used and available to unprivileged users on the run root's file system.
        var disk: (used: UInt64, available: UInt64)?
        /// Bytes received and sent by every interface but loopback (`/proc/net/dev`).
        var network: (received: UInt64, sent: UInt64)?
    }

    /// The sources, as named in failure reports.
    enum Source: String, CaseIterable {
        case cpu = "/proc/stat", process = "/proc/self/stat", memory = "/proc/meminfo", disk = "statvfs", network = "/proc/net/dev"
    }

    let diskPath: String
    let procRoot: String
    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    private let pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))

    init(diskPath: String, procRoot: String = "/proc") {
        self.diskPath = diskPath
        self.procRoot = procRoot
    }

    /// Reads every source now.
    func read() -> Reading {
        var r = Reading()
        r.nanos = Monitor.now()
        r.cpu = readCPU()
        r.process = readProcess()
        r.memory = readMemory()
        r.disk = readDisk()
        r.network = readNetwork()
        return r
    }

    /// The metrics between `previous` and `now` (CPU needs both; the rest
    /// only `now`, network counts since `first`), appended to `out` as
    /// `(name without "system/", value)`.
    func metrics(previous: Reading, now: Reading, first: Reading, into out: inout [(String, Double)]) {
        if let a = previous.cpu, let b = now.cpu, b.total > a.total {
            out.append(("cpu_utilization_percentage", Double(b.busy &- a.busy) / Double(b.total - a.total) * 100))
        }
        if let b = now.process {
            let seconds = Double(now.nanos &- previous.nanos) / 1e9
            if let a = previous.process, seconds > 0 {
                out.append(("process_cpu_utilization_percentage", Double(b.ticks &- a.ticks) / ticksPerSecond / seconds * 100))
            }
            out.append(("process_memory_rss_megabytes", Double(b.rss) / 1e6))
        }
        if let m = now.memory, m.total > 0 {
            let used = m.total - min(m.total, m.available)
            out.append(("system_memory_usage_megabytes", Double(used) / 1e6))
            out.append(("system_memory_usage_percentage", Double(used) / Double(m.total) * 100))
        }
        if let d = now.disk {
            let size = d.used + d.available
            out.append(("disk_usage_percentage", size > 0 ? Double(d.used) / Double(size) * 100 : 0))
            out.append(("disk_usage_megabytes", Double(d.used) / 1e6))
            out.append(("disk_available_megabytes", Double(d.available) / 1e6))
        }
        if let n = now.network, let f = first.network {
            out.append(("network_receive_megabytes", Double(n.received &- f.received) / 1e6))
            out.append(("network_transmit_megabytes", Double(n.sent &- f.sent) / 1e6))
        }
    }

    // MARK: - Sources

    private func readCPU() -> (busy: UInt64, total: UInt64)? {
        guard let text = ProcFile.text(procRoot + "/stat"), let line = text.split(separator: "\n").first,
              line.hasPrefix("cpu ") else { return nil }
        let f = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard f.count >= 4 else { return nil }
        let total = f.prefix(8).reduce(0, &+)  // user nice system idle iowait irq softirq steal
        let idle = f[3] &+ (f.count > 4 ? f[4] : 0)
        return (total &- idle, total)
    }

    private func readProcess() -> (ticks: UInt64, rss: UInt64)? {
        // After the command name in parentheses (which may hold spaces): field 3 onwards.
        guard let text = ProcFile.text(procRoot + "/self/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let f = text[text.index(after: close)...].split(separator: " ")
        guard f.count > 21, let utime = UInt64(f[11]), let stime = UInt64(f[12]), let pages = UInt64(f[21]) else { return nil }
        return (utime &+ stime, pages &* pageSize)
    }

    private func readMemory() -> (total: UInt64, available: UInt64)? {
        guard let text = ProcFile.text(procRoot + "/meminfo") else { return nil }
        var total: UInt64?, available: UInt64?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("MemTotal:") { total = Self.kilobytes(line) }
            else if line.hasPrefix("MemAvailable:") { available = Self.kilobytes(line) }
            if total != nil && available != nil { break }
        }
        guard let total, let available else { return nil }
        return (total, available)
    }

    private static func kilobytes(_ line: Substring) -> UInt64? {
        line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) }.map { $0 &* 1024 }
    }

    private func readDisk() -> (used: UInt64, available: UInt64)? {
        var st = statvfs()
        guard statvfs(diskPath, &st) == 0 else { return nil }
        let unit = UInt64(st.f_frsize)
        return ((UInt64(st.f_blocks) &- UInt64(st.f_bfree)) &* unit, UInt64(st.f_bavail) &* unit)
    }

    private func readNetwork() -> (received: UInt64, sent: UInt64)? {
        guard let text = ProcFile.text(procRoot + "/net/dev") else { return nil }
        var rx: UInt64 = 0, tx: UInt64 = 0, seen = false
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingSpaces
            guard name != "lo" else { continue }
            let f = line[line.index(after: colon)...].split(separator: " ")
            guard f.count >= 9, let r = UInt64(f[0]), let t = UInt64(f[8]) else { continue }
            rx &+= r
            tx &+= t
            seen = true
        }
        return seen || text.contains("|") ? (rx, tx) : nil
    }
}

/// Small files of `/proc` and `/sys`, read whole in one go.
enum ProcFile {
    /// The text of `path` (at most 256 KiB), or nil when it cannot be read.
    static func text(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let capacity = 256 << 10
        var bytes = [UInt8](repeating: 0, count: 16 << 10)
        var used = 0
        while true {
            if used == bytes.count {
                guard bytes.count < capacity else { break }
                bytes += [UInt8](repeating: 0, count: bytes.count)
            }
            let n = bytes.withUnsafeMutableBytes { SystemCall.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[used...])) }
            if n < 0 { return nil }
            if n == 0 { break }
            used += n
        }
        return String(decoding: bytes[0..<used], as: UTF8.self)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
