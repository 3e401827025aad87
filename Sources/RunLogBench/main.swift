// SPDX-License-Identifier: Apache-2.0
// runlog-bench [NAME…] [--quick]: prints figures for each benchmark named
// (all when none). Build with -c release for numbers that mean anything.
// Each benchmark lives in its own file and registers itself here.
#if canImport(Glibc)
import Glibc
#endif

struct Benchmark {
    var name: String
    var summary: String
    var run: (_ quick: Bool) throws -> Void
}

let benchmarks: [Benchmark] = [
    // One line per benchmark, in the order they print.
    Benchmark(name: "format", summary: "encode/decode workload A in memory; bytes per point and per histogram", run: formatBench),
    LoggerBench.benchmark,
    SamplerBench.benchmark,
    Benchmark(name: "workloads", summary: "the Swift logger writing workloads A and B to disk, one JSON line each, for tools/bench", run: workloadsBench),
    Benchmark(name: "checksums", summary: "CRC32C, canonical JSON doubles and rows in memory; SHA-256 of a checkpoint against openssl", run: checksumsBench),
    Benchmark(name: "cli", summary: "runlog stats and dump --json on workload A's log; TensorBoard's loader as the anchor", run: cliBench),
    Benchmark(name: "console", summary: "a Swift program printing 1 M short lines with console capture off and on; console bytes on disk", run: consoleBench),
]

// The child process of the console benchmark.
if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "console-print" {
    consolePrint(Array(CommandLine.arguments.dropFirst(2)))
}

var args = Array(CommandLine.arguments.dropFirst())
let quick = args.contains("--quick")
args.removeAll { $0 == "--quick" }
if args.contains("--list") {
    for b in benchmarks { print("\(b.name)\t\(b.summary)") }
    exit(0)
}
let unknown = args.filter { name in !benchmarks.contains { $0.name == name } }
if !unknown.isEmpty {
    print("runlog-bench: unknown benchmark(s): \(unknown.joined(separator: ", ")); see --list")
    exit(2)
}
for b in benchmarks where args.isEmpty || args.contains(b.name) {
    do {
        try b.run(quick)
    } catch {
        print("runlog-bench: \(b.name) failed: \(error)")
        exit(1)
    }
}
