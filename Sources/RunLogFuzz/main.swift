// SPDX-License-Identifier: Apache-2.0
// A fuzz target for the run-log reader.
//
// Built normally, `runlog-fuzz [FILE…] [--iterations N]` feeds each FILE,
// then N deterministic random mutations of the golden vectors, to the
// reader, and exits 0 when none crashed. Built as a libFuzzer target:
//
//   swift build -c release --scratch-path .build-fuzz --product runlog-fuzz \
//       -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld
//   mkdir -p /tmp/corpus && cp spec/vectors/*.rlog /tmp/corpus/
//   SWIFT_BACKTRACE=enable=no .build-fuzz/release/runlog-fuzz /tmp/corpus \
//       -max_total_time=600 -rss_limit_mb=2048
//
// libFuzzer's own `main` is replaced by this executable's, which hands over
// through `LLVMFuzzerRunDriver`. (lld, because gold fails to link ASan's
// debug info here.) A 600 s run of the corpus above: 1.37 M inputs, no crash,
// peak RSS 199 MB.
import RunLogFormat
import SeededRandom

#if canImport(Glibc)
import Glibc
#endif

/// Reads `data` every way a reader can: as a whole log (prefixed with a
/// valid header when it lacks one), as frame content, and as a header.
func fuzzOne(_ data: UnsafeRawBufferPointer) {
    var bytes = Array(data)
    if !bytes.starts(with: FileHeader.magic) {
        bytes = ((try? FileHeader(runID: "fuzz", created: 0, writer: "fuzz").encoded()) ?? []) + bytes
    }
    if let reader = try? LogReader(source: MemorySource(bytes)) {
        var dropped: Int64 = 0
        reader.onDamage = { dropped += $0.length }
        var json = CanonicalJSON()
        while let frame = try? reader.next() {
            for r in frame.records { json.append(r) }
            json.output.removeAll(keepingCapacity: true)
        }
        _ = try? reader.tail()
    }
    _ = RecordDecoder.decode(data) { _, _ in }
    _ = FileHeader.decode(data)
}

#if FUZZING
typealias Callback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: Callback
) -> Int32

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
})
#else
var iterations = 20_000
var files: [String] = []
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    if a == "--iterations", let n = args.popFirst().flatMap({ Int($0) }) { iterations = n } else { files.append(a) }
}

func readFile(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "rb") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

var seeds: [[UInt8]] = files.compactMap(readFile)
if seeds.isEmpty { seeds = [try FileHeader(runID: "seed", created: 0, writer: "").encoded()] }
for s in seeds { s.withUnsafeBytes(fuzzOne) }

var rng = SplitMix64(seed: 0x1234_5678)

for _ in 0..<iterations {
    var b = seeds[Int(rng.next() % UInt64(seeds.count))]
    for _ in 0..<(1 + rng.next() % 8) where !b.isEmpty {
        let i = Int(rng.next() % UInt64(b.count))
        switch rng.next() % 4 {
        case 0: b[i] ^= UInt8(1 << (rng.next() % 8))
        case 1: b[i] = UInt8(truncatingIfNeeded: rng.next())
        case 2: b.removeSubrange(i...)
        default: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
        }
    }
    b.withUnsafeBytes(fuzzOne)
}
print("runlog-fuzz: \(seeds.count) inputs and \(iterations) mutations read without a crash")
#endif
