// SPDX-License-Identifier: Apache-2.0
import Foundation

/// Samples the machine, this process and the GPUs every `interval` seconds
/// on its own thread, and logs each sample as one metrics row of
/// `system/<name>` keys (MLflow's names) at step = the sample's index.
///
/// It never blocks `log`: a sample takes the pipeline's lock only to append
/// its row, like any caller. A source that cannot be read (a `/proc` file,
/// an NVML call) is left out of the sample and reported once through the
/// run's error handler; sampling goes on.
final class SystemSampler: @unchecked Sendable {
    /// The interval `RunOptions.systemMetricsInterval` and
    /// `$RUNLOG_SYSTEM_METRICS_INTERVAL` give: nil means off.
    static func interval(option: Double?, environment: String?) -> Double? {
        let value: Double
        if let option {
            value = option
        } else if let environment, !environment.isEmpty {
            guard let v = Double(environment), v.isFinite, v >= 0 else { return defaultInterval }
            value = v
        } else {
            value = defaultInterval
        }
        return value <= 0 ? nil : max(minimumInterval, value)
    }

    static let defaultInterval = 10.0
    static let minimumInterval = 0.1

    private let pipeline: Pipeline
    private let probe: SystemProbe
    private let nvml: NVML?
    private let interval: Double
    private let monitor = Monitor()
    private let wake: Monitor.Condition
    private var stopping = false
    private var stopped = false
    /// Used by the sampling thread only.
    private var reported: Set<String> = []
    private var ids: [String: Int32] = [:]
    private var sample: Int64 = 0

    init(pipeline: Pipeline, diskPath: String, procRoot: String = "/proc", interval: Double, nvml: NVML? = NVML.shared) {
        self.pipeline = pipeline
        probe = SystemProbe(diskPath: diskPath, procRoot: procRoot)
        self.nvml = nvml
        self.interval = interval
        wake = monitor.makeCondition()
        let thread = Thread { [self] in self.run() }
        thread.name = "runlog-sampler"
        thread.start()
    }

    /// Stops the thread and waits for it (at most one sample's time).
    func stop() {
        monitor.lock()
        stopping = true
        wake.signal()
        while !stopped { monitor.wait(wake) }
        monitor.unlock()
    }

    private func run() {
        // The name top -H and /proc/self/task/*/comm show (Foundation's Thread.name does not set it).
        try? "runlog-sampler".write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
        let first = probe.read()
        var previous = first
        var values: [(String, Double)] = []
        var deadline = Monitor.now() + Monitor.nanos(interval)
        while true {
            monitor.lock()
            while !stopping && Monitor.now() < deadline { monitor.wait(wake, until: deadline) }
            if stopping {
                stopped = true
                wake.broadcast()
                monitor.unlock()
                return
            }
            monitor.unlock()
            deadline += Monitor.nanos(interval)
            if deadline < Monitor.now() { deadline = Monitor.now() + Monitor.nanos(interval) }  // a suspended process skips samples
            let now = probe.read()
            values.removeAll(keepingCapacity: true)
            probe.metrics(previous: previous, now: now, first: first, into: &values)
            reportMissing(now)
            readGPUs(into: &values)
            previous = now
            log(values)
        }
    }

    private func readGPUs(into values: inout [(String, Double)]) {
        guard let nvml else { return }
        for i in nvml.devices.indices {
            let (r, failed) = nvml.read(i)
            if failed { reportOnce("NVML", "runlog: system metrics: an NVML call failed for GPU \(i); its missing values are skipped") }
            if let u = r.utilization { values.append(("gpu_\(i)_utilization_percentage", u)) }
            if let m = r.memory {
                values.append(("gpu_\(i)_memory_usage_megabytes", Double(m.used) / 1e6))
                if m.total > 0 { values.append(("gpu_\(i)_memory_usage_percentage", Double(m.used) / Double(m.total) * 100)) }
            }
            if let t = r.temperature { values.append(("gpu_\(i)_temperature_celsius", t)) }
            if let p = r.power {
                values.append(("gpu_\(i)_power_usage_watts", Double(p.milliwatts) / 1000))
                if p.limit > 0 { values.append(("gpu_\(i)_power_usage_percentage", Double(p.milliwatts) / Double(p.limit) * 100)) }
            }
        }
    }

    private func reportMissing(_ r: SystemProbe.Reading) {
        let missing: [(SystemProbe.Source, Bool)] = [
            (.cpu, r.cpu == nil), (.process, r.process == nil), (.memory, r.memory == nil),
            (.disk, r.disk == nil), (.network, r.network == nil),
        ]
        for (source, isMissing) in missing where isMissing {
            let what = source == .disk ? "statvfs(\(probe.diskPath))" : source.rawValue
            reportOnce(source.rawValue, "runlog: system metrics: cannot read \(what); its values are skipped")
        }
    }

    private func reportOnce(_ key: String, _ line: String) {
        guard reported.insert(key).inserted else { return }
        pipeline.report(line)
    }

    private func log(_ values: [(String, Double)]) {
        guard !values.isEmpty else { return }
        var keyIDs: [Int32] = []
        var numbers: [Double] = []
        keyIDs.reserveCapacity(values.count)
        numbers.reserveCapacity(values.count)
        for (name, value) in values {
            let id = ids[name] ?? {
                let id = pipeline.register(["system/" + name])[0]
                ids[name] = id
                return id
            }()
            keyIDs.append(id)
            numbers.append(value)
        }
        keyIDs.withUnsafeBufferPointer { k in
            numbers.withUnsafeBufferPointer { v in pipeline.appendSideRow(ids: k, values: v, step: sample) }
        }
        sample += 1
    }
}
