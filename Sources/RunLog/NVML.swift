// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// NVIDIA's management library, loaded at run time with `dlopen`: never a
/// build or install dependency. Without it (no driver, no GPU) there are no
/// GPUs and no error.
///
/// The library is `libnvidia-ml.so.1`, found by the dynamic loader as usual
/// (`LD_LIBRARY_PATH`, the loader cache), or the file `$RUNLOG_NVML_LIBRARY`
/// names. It is loaded and initialised once per process, on first use.
final class NVML: @unchecked Sendable {
    /// One device's readings; nil where NVML returned an error.
    struct Reading {
        var utilization: Double?
        var memory: (used: UInt64, total: UInt64)?
        var temperature: Double?
        var power: (milliwatts: UInt32, limit: UInt32)?
    }

    /// The loaded library; nil when it is missing, lacks a function used
    /// here, or does not start (a driver without a GPU): no GPUs, silently.
    static let shared: NVML? = NVML()

    private typealias InitFn = @convention(c) () -> Int32
    private typealias CountFn = @convention(c) (UnsafeMutablePointer<UInt32>) -> Int32
    private typealias HandleFn = @convention(c) (UInt32, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias UtilFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt32>) -> Int32
    private typealias MemoryFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt64>) -> Int32
    private typealias TempFn = @convention(c) (OpaquePointer?, Int32, UnsafeMutablePointer<UInt32>) -> Int32
    private typealias UIntFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt32>) -> Int32
    private typealias NameFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>, UInt32) -> Int32
    private typealias TextFn = @convention(c) (UnsafeMutablePointer<CChar>, UInt32) -> Int32
    private typealias IntFn = @convention(c) (UnsafeMutablePointer<Int32>) -> Int32

    private let utilization: UtilFn
    private let memoryInfo: MemoryFn
    private let temperature: TempFn
    private let powerUsage: UIntFn
    private let powerLimit: UIntFn
    private let name: NameFn
    private let driverVersion: TextFn?
    private let cudaVersion: IntFn?
    let devices: [OpaquePointer?]

    private init?() {
        let path = environmentVariable("RUNLOG_NVML_LIBRARY") ?? "libnvidia-ml.so.1"
        guard let lib = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { return nil }  // no library: no GPUs
        func symbol<T>(_ name: String, _: T.Type) -> T? {
            dlsym(lib, name).map { unsafeBitCast($0, to: T.self) }
        }
        guard let initialize = symbol("nvmlInit_v2", InitFn.self),
              let count = symbol("nvmlDeviceGetCount_v2", CountFn.self),
              let handle = symbol("nvmlDeviceGetHandleByIndex_v2", HandleFn.self),
              let utilization = symbol("nvmlDeviceGetUtilizationRates", UtilFn.self),
              let memoryInfo = symbol("nvmlDeviceGetMemoryInfo", MemoryFn.self),
              let temperature = symbol("nvmlDeviceGetTemperature", TempFn.self),
              let powerUsage = symbol("nvmlDeviceGetPowerUsage", UIntFn.self),
              let powerLimit = symbol("nvmlDeviceGetEnforcedPowerLimit", UIntFn.self),
              let name = symbol("nvmlDeviceGetName", NameFn.self)
        else { return nil }
        var n: UInt32 = 0
        guard initialize() == 0, count(&n) == 0 else { return nil }
        var devices: [OpaquePointer?] = []
        for i in 0..<min(n, 64) {
            var h: OpaquePointer?
            devices.append(handle(i, &h) == 0 ? h : nil)
        }
        self.devices = devices
        self.utilization = utilization
        self.memoryInfo = memoryInfo
        self.temperature = temperature
        self.powerUsage = powerUsage
        self.powerLimit = powerLimit
        self.name = name
        driverVersion = symbol("nvmlSystemGetDriverVersion", TextFn.self)
        cudaVersion = symbol("nvmlSystemGetCudaDriverVersion", IntFn.self)
    }

    /// Reads device `i`; `failed` is true when any call returned an error.
    func read(_ i: Int) -> (Reading, failed: Bool) {
        var r = Reading()
        guard let d = devices[i] else { return (r, true) }
        var failed = false
        var u: (UInt32, UInt32) = (0, 0)
        if withUnsafeMutableBytes(of: &u, { utilization(d, $0.baseAddress!.assumingMemoryBound(to: UInt32.self)) }) == 0 {
            r.utilization = Double(u.0)
        } else { failed = true }
        var m: (UInt64, UInt64, UInt64) = (0, 0, 0)  // total, free, used
        if withUnsafeMutableBytes(of: &m, { memoryInfo(d, $0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }) == 0 {
            r.memory = (m.2, m.0)
        } else { failed = true }
        var t: UInt32 = 0
        if temperature(d, 0, &t) == 0 { r.temperature = Double(t) } else { failed = true }
        var p: UInt32 = 0, limit: UInt32 = 0
        if powerUsage(d, &p) == 0 && powerLimit(d, &limit) == 0 { r.power = (p, limit) } else { failed = true }
        return (r, failed)
    }

    /// The environment's `gpu` map (spec format.md §4.10).
    func environment() -> Value {
        var names: [Value] = [], memory: [Value] = []
        var buffer = [CChar](repeating: 0, count: 256)
        for d in devices {
            names.append(.string(d != nil && name(d, &buffer, 256) == 0 ? NVML.text(buffer) : ""))
            var m: (UInt64, UInt64, UInt64) = (0, 0, 0)
            let ok = d != nil && withUnsafeMutableBytes(of: &m, { memoryInfo(d, $0.baseAddress!.assumingMemoryBound(to: UInt64.self)) }) == 0
            memory.append(.int(ok ? Int64(clamping: m.0) : 0))
        }
        var entries = [Entry("count", .int(Int64(devices.count))), Entry("names", .list(names)), Entry("memory", .list(memory))]
        if let driverVersion, driverVersion(&buffer, 256) == 0 { entries.append(Entry("driver", .string(NVML.text(buffer)))) }
        var cuda: Int32 = 0
        if let cudaVersion, cudaVersion(&cuda) == 0, cuda > 0 {
            entries.append(Entry("cuda", .string("\(cuda / 1000).\(cuda % 1000 / 10)")))
        }
        return .map(entries)
    }
}

extension NVML {
    /// The NUL-terminated text in `buffer`.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The environment variable `name`, nil when unset or empty.
func environmentVariable(_ name: String) -> String? {
    guard let v = getenv(name) else { return nil }
    let s = String(cString: v)
    return s.isEmpty ? nil : s
}
