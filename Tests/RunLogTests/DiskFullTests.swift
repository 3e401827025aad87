// SPDX-License-Identifier: Apache-2.0
import Foundation
@testable import RunLog
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A small tmpfs mounted for one test: a real file system that runs out of space.
struct SmallFileSystem {
    let dir: TempDir
    var path: String { dir.path }

    /// Whether this process may mount file systems (root, and `mount` allowed here).
    static let available: Bool = {
        guard geteuid() == 0, let fs = try? SmallFileSystem(megabytes: 1) else { return false }
        fs.unmount()
        return true
    }()

    struct MountFailed: Error {}

    init(megabytes: Int) throws {
        dir = TempDir("tmpfs")
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", dir.path]) else {
            dir.remove()
            throw MountFailed()
        }
    }

    func unmount() {
        _ = Self.run("/bin/umount", [dir.path])
        dir.remove()
    }

    /// Writes a file until the file system is full; returns its path.
    func fill() -> String {
        let filler = path + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let chunk = [UInt8](repeating: 0x55, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        return filler
    }

    private static func run(_ tool: String, _ args: [String]) -> Bool {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }
}

/// Fails every append with ENOSPC while `full`, between the writer and the real log file.
final class FaultInjector: FrameSink, @unchecked Sendable {
    private let lock = NSLock()
    private var inner: FrameSink?
    private var isFull = false

    func wrap(_ sink: FrameSink) -> FrameSink {
        lock.withLock { inner = sink }
        return self
    }

    var full: Bool {
        get { lock.withLock { isFull } }
        set { lock.withLock { isFull = newValue } }
    }

    var path: String { lock.withLock { inner!.path } }

    func appendFrames(_ frames: ArraySlice<[UInt8]>) throws -> Int {
        if full { throw FormatError(.io, "\(path): write failed: No space left on device", errno: ENOSPC) }
        return try lock.withLock { inner! }.appendFrames(frames)
    }

    func sync() throws { try lock.withLock { inner! }.sync() }
    func close() throws { try lock.withLock { inner! }.close() }
}

/// A disk that a test fills and frees: a real small tmpfs where this process
/// may mount one, and always a fault injected under the writer.
enum Disk: String, CustomTestStringConvertible, Sendable {
    case tmpfs, injected

    static var kinds: [Disk] { SmallFileSystem.available ? [.tmpfs, .injected] : [.injected] }
    var testDescription: String { rawValue }

    /// A root for runs, options that reach it, and how to fill and free it.
    func make(_ options: inout RunOptions) throws -> (root: String, fill: () -> Void, free: () -> Void, cleanup: () -> Void) {
        switch self {
        case .tmpfs:
            let fs = try SmallFileSystem(megabytes: 4)
            let filler = Filler()
            return (fs.path, { filler.path = fs.fill() }, { unlink(filler.path) }, { fs.unmount() })
        case .injected:
            let dir = TempDir("injected")
            let injector = FaultInjector()
            options.sinkWrapper = { injector.wrap($0) }
            return (dir.path, { injector.full = true }, { injector.full = false }, { dir.remove() })
        }
    }

    private final class Filler: @unchecked Sendable { var path = "" }
}

@Suite(.serialized)
struct DiskFullTests {
    /// The tmpfs cases run wherever this process is root: there a failed mount
    /// is an error, not a silent fall-back to the injected fault alone.
    @Test(.enabled(if: geteuid() == 0, "not root: only the injected full disk is tested"))
    func aRealFullDiskIsTestedWhereverThisProcessIsRoot() {
        #expect(SmallFileSystem.available, "root, but mounting a tmpfs failed: the real ENOSPC cases would not run")
    }

    func options(_ errors: ErrorLines) -> RunOptions {
        var o = testOptions(errors)
        o.retryInterval = 0.05
        return o
    }

    static func values(_ step: Int) -> (Double, Double) { (Double(step) * 1.000001, sin(Double(step))) }

    @Test(arguments: Disk.kinds) func aFullDiskDelaysRecordsButLosesNoneAndIsReportedOnce(disk: Disk) throws {
        let errors = ErrorLines()
        var o = options(errors)
        let fs = try disk.make(&o)
        defer { fs.cleanup() }
        let run = try Run(id: "full", root: fs.root, options: o)
        let k = run.keys("x", "y")
        func log(_ steps: Range<Int>) { for s in steps { let (x, y) = Self.values(s); run.log(k, x, y, step: Int64(s)) } }
        log(0..<100)
        try run.flush()
        fs.fill()
        log(100..<20_100)
        #expect(throws: RunError.self) { try run.flush() }
        #expect(run.stats.isFailing)
        usleep(300_000)  // several retries, all failing
        #expect(errors.lines.filter { $0.contains("cannot write") }.count == 1, "\(errors.lines)")
        #expect(errors.lines.first?.contains("No space left on device") == true)

        fs.free()
        try run.flush()
        #expect(!run.stats.isFailing)
        #expect(errors.lines.contains { $0.contains("resumed") })
        log(20_100..<20_200)
        #expect(run.finish())
        #expect(run.stats.droppedRows == 0)

        let log = try ReadLog(path: run.logPath!)
        #expect(log.damage.isEmpty && log.tail == nil)
        let rows = log.rows
        #expect(rows.count == 20_200)
        let wrong = rows.enumerated().first { i, row in
            let (x, y) = Self.values(i)
            return row.step != Int64(i) || row.values != ["x": x, "y": y]
        }
        #expect(wrong == nil)
        #expect(try run.directory!.status().0 == .finished)
    }

    @Test(arguments: Disk.kinds) func rowsBeyondTheCapWhileTheDiskIsFullAreCountedAndRecorded(disk: Disk) throws {
        let errors = ErrorLines()
        var o = options(errors)
        o.memoryCap = 1 << 20
        let fs = try disk.make(&o)
        defer { fs.cleanup() }
        let run = try Run(id: "drops", root: fs.root, options: o)
        let k = run.keys("x", "y")
        try run.flush()
        fs.fill()
        // Wait until the writer has met the full disk, then log far more than the cap holds.
        for s in 0..<100_000 {
            let (x, y) = Self.values(s)
            run.log(k, x, y, step: Int64(s))
            if s == 50_000 { #expect(run.stats.droppedRows > 0) }
        }
        let stats = run.stats
        #expect(stats.droppedRows > 0 && stats.droppedPoints == 2 * stats.droppedRows)
        fs.free()
        #expect(run.finish())

        let log = try ReadLog(path: run.logPath!)
        #expect(log.damage.isEmpty)
        #expect(log.rows.count + stats.droppedRows == 100_000, "every row is written or counted")
        let recorded = log.records.compactMap { r -> [Entry]? in if case .summary(let e) = r { return e } else { return nil } }.last
        #expect(recorded == [Entry("runlog/dropped", ["rows": .int(Int64(stats.droppedRows)), "points": .int(Int64(stats.droppedPoints)), "records": 0])])
        #expect(errors.lines.contains { $0.contains("\(stats.droppedRows) rows") && $0.contains("dropped") })
        #expect(try run.directory!.status().0 == .finished)
    }

    @Test(arguments: Disk.kinds) func histogramsBeyondTheCapWhileTheDiskIsFullAreCountedAndRecorded(disk: Disk) throws {
        let errors = ErrorLines()
        var o = options(errors)
        o.memoryCap = 1 << 20
        let fs = try disk.make(&o)
        defer { fs.cleanup() }
        let run = try Run(id: "hdrops", root: fs.root, options: o)
        try run.flush()
        fs.fill()
        // 64-bin histograms of distinct values, far more than 1 MiB of them.
        let logged = 20_000
        for s in 0..<logged {
            run.logHistogram("w", counts: (0..<64).map { UInt64(($0 * 7 + s) % 97) }, range: -1...1, step: Int64(s))
        }
        let stats = run.stats
        #expect(stats.droppedRecords > 0, "the cap was reached: some histograms must be dropped")
        #expect(stats.droppedRows == 0)
        fs.free()
        #expect(run.finish())

        let log = try ReadLog(path: run.logPath!)
        #expect(log.damage.isEmpty)
        let written = log.records.filter { $0.kind == 4 }.count
        #expect(written + stats.droppedRecords == logged, "every histogram is written or counted")
        let recorded = log.records.compactMap { r -> [Entry]? in if case .summary(let e) = r { return e } else { return nil } }.last
        #expect(recorded == [Entry("runlog/dropped", ["rows": 0, "points": 0, "records": .int(Int64(stats.droppedRecords))])])
    }

    /// README: "memory is capped (`memoryCap`)". A writer process on a real
    /// full tmpfs logs far more than its 8 MiB cap: its peak resident memory
    /// grows by less than the cap and a margin, the rest is dropped and
    /// counted, and once space returns the run ends with every row written
    /// or counted.
    @Test(.enabled(if: SmallFileSystem.available, "needs root and mount: a real full disk"))
    func theWritersPeakMemoryStaysNearItsCapWhileTheDiskIsFull() throws {
        let fs = try SmallFileSystem(megabytes: 4)
        defer { fs.unmount() }
        let gate = TempDir("gate")
        defer { gate.remove() }
        let cap = 8 << 20, rows: Int64 = 4_000_000
        let child = try Child(["diskfull", fs.path, "capped", String(rows), String(cap), gate.path])
        defer { if child.process.isRunning { child.kill9() } }
        let ready = try #require(child.readLine(), "the writer ended before it was ready")
        let before = try #require(Int(ready.split(separator: " ").last ?? ""), "\(ready)")
        #expect(before > 1024, "resident memory at the start: \(before) KiB")
        let filler = fs.fill()
        try #require(FileManager.default.createFile(atPath: gate.path + "/full", contents: nil), "cannot open the gate")
        let logged = try #require(child.readLine(), "the writer ended while the disk was full").split(separator: " ")
        try #require(logged.count == 3, "\(logged)")
        let peak = try #require(Int(logged[1]), "\(logged)"), dropped = try #require(Int64(logged[2]), "\(logged)")
        // 4 M rows are ~100 MiB as the logger holds them: most must be dropped.
        #expect(dropped > rows / 2, "\(dropped) rows dropped")
        let grew = Double(peak - before) / 1024
        #expect(peak >= before, "peak \(peak) KiB, at the start \(before) KiB")
        #expect(grew < Double(cap >> 20) + 8, "peak RSS grew \(grew) MiB over a cap of \(cap >> 20) MiB")
        unlink(filler)
        try #require(FileManager.default.createFile(atPath: gate.path + "/free", contents: nil), "cannot open the gate")
        // The last rows logged may still be on their way to the writer thread (and dropped there).
        let finished = try #require(child.readLine(), "no end").split(separator: " ")
        let droppedInAll = try #require(finished.count == 2 ? Int64(finished[1]) : nil, "\(finished)")
        #expect(droppedInAll >= dropped && droppedInAll - dropped < 10_000, "\(dropped), then \(droppedInAll)")
        #expect(child.waitForExit())
        let log = try ReadLog(path: fs.path + "/capped/logs/a0001-r0000-s0000.rlog")
        #expect(log.damage.isEmpty && Int64(log.rows.count) + droppedInAll == rows, "every row is written or counted: \(log.rows.count) written, \(droppedInAll) dropped, \(rows) logged")
    }

    @Test(arguments: Disk.kinds) func theBlockPolicyHoldsTheCallerUntilSpaceReturns(disk: Disk) throws {
        let errors = ErrorLines()
        var o = options(errors)
        o.memoryCap = 1 << 20
        o.whenDiskFails = .block
        let fs = try disk.make(&o)
        defer { fs.cleanup() }
        let run = try Run(id: "block", root: fs.root, options: o)
        fs.fill()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let k = run.keys("x", "y")
            for s in 0..<100_000 { let (x, y) = Self.values(s); run.log(k, x, y, step: Int64(s)) }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 2) == .timedOut, "the caller waits while the disk is full")
        #expect(run.stats.isFailing)
        fs.free()
        #expect(done.wait(timeout: .now() + 60) == .success)
        #expect(run.finish())
        #expect(run.stats.droppedRows == 0)
        #expect(try ReadLog(path: run.logPath!).rows.count == 100_000)
    }

    @Test(arguments: Disk.kinds) func aRunThatCannotEndBeforeItsTimeoutReadsAsCrashedWithItsLogValid(disk: Disk) throws {
        let errors = ErrorLines()
        var o = options(errors)
        o.finishTimeout = 0.3
        let fs = try disk.make(&o)
        defer { fs.cleanup() }
        let run = try Run(id: "giveup", root: fs.root, options: o)
        let k = run.keys("x", "y")
        for s in 0..<1000 { let (x, y) = Self.values(s); run.log(k, x, y, step: Int64(s)) }
        try run.flush()
        fs.fill()
        for s in 1000..<30_000 { let (x, y) = Self.values(s); run.log(k, x, y, step: Int64(s)) }
        #expect(!run.finish())
        #expect(errors.lines.contains { $0.contains("could not be written") })
        #expect(try run.directory!.status().0 == .crashed)
        fs.free()
        let log = try ReadLog(path: run.logPath!)
        #expect(log.damage.isEmpty && log.tail == nil)
        #expect(log.rows.count >= 1000 && !log.records.contains { $0.kind == 8 })
        #expect(log.rows.enumerated().allSatisfy { $0.element.step == Int64($0.offset) })
    }
}
