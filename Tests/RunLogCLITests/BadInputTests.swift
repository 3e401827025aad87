// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// Every kind of bad input, fed to every subcommand that reads logs: one line
/// naming the file (and offset), the documented status, never a crash.
@Suite struct BadInputTests {
    /// Peak RSS allowed to a reader of a hostile file: about 25 MiB is the
    /// process itself; a length field believed (GBs) would be far above.
    static let memoryBound = 96

    /// The peak resident memory of `runlog ARGS` in MiB, as `/usr/bin/time` measures it.
    static func peakMiB(_ args: [String]) throws -> Int {
        let p = CLI.process("/usr/bin/time", ["-f", "peak-kib %M", CLI.runlog] + args)
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let line = text.split(separator: "\n").last { $0.hasPrefix("peak-kib ") } ?? ""
        guard let kib = Int(line.dropFirst(9)) else { throw TestFailure("no peak RSS from /usr/bin/time: \(text)") }
        return kib / 1024
    }

    static let readers: [[String]] = [["dump"], ["dump", "--json"], ["verify"], ["stats"], ["stats", "--json"], ["export", "--csv"]]

    /// A valid log of several frames, as bytes, and the offsets of its frames.
    static func validLog(_ dir: String) throws -> (bytes: [UInt8], frames: [Int64]) {
        let w = try Fixtures.writeLog(dir + "/valid.rlog", header: Fixtures.header("v1"), frames: [[.runStart(Fixtures.runStart("v1"))]] + Fixtures.metrics(rows: 300, perBlock: 100).map { [$0] } + [[Fixtures.runEnd(.finished)]])
        let reader = try LogReader(path: w.path)
        var offsets: [Int64] = []
        while let f = try reader.next() { offsets.append(f.offset) }
        return (try Fixtures.bytes(w.path), offsets)
    }

    func expectOneLineError(_ r: CLI.Result, naming path: String, status: Int32 = 2, _ what: String) {
        #expect(r.status == status, "\(what): status \(r.status), stderr \(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(what): \(r.stderr)")
        #expect(lines.first?.contains(path) == true, "\(what): \(r.stderr)")
        #expect(r.stdout.isEmpty, "\(what): \(r.stdout)")
    }

    func expectNoCrash(_ r: CLI.Result, _ what: String) {
        #expect(r.status < 128, "\(what) died of a signal: \(r.status)")
        for word in ["Fatal error", "Backtrace", "Segmentation", "Illegal instruction"] {
            #expect(!r.stderr.contains(word), "\(what): \(r.stderr)")
        }
    }

    @Test func unreadablePathsGiveOneLineAndStatus2() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (valid, _) = try Self.validLog(dir)
        try FileManager.default.createDirectory(atPath: dir + "/notarun/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/emptyrun/logs", withIntermediateDirectories: true)
        try Fixtures.write([], to: dir + "/empty.rlog")
        var random = SystemRandomNumberGenerator()
        try Fixtures.write((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }, to: dir + "/random.rlog")
        try Fixtures.write(Array(valid[0..<15]), to: dir + "/truncated-header.rlog")
        var hostileHeader = valid
        hostileHeader.replaceSubrange(12..<16, with: [0xF0, 0xFF, 0xFF, 0xFF])  // header-length ~4 GiB
        try Fixtures.write(hostileHeader, to: dir + "/hostile-header.rlog")
        // 10 GB of nothing: a sparse file, made with ftruncate.
        let fd = open(dir + "/sparse.rlog", O_CREAT | O_WRONLY, 0o644)
        #expect(ftruncate(fd, 10_000_000_000) == 0)
        close(fd)
        let cases: [(String, String)] = [
            ("missing", dir + "/missing.rlog"), ("not a run", dir + "/notarun"), ("run without logs", dir + "/emptyrun"),
            ("empty", dir + "/empty.rlog"), ("random bytes", dir + "/random.rlog"),
            ("truncated header", dir + "/truncated-header.rlog"), ("hostile header length", dir + "/hostile-header.rlog"),
            ("10 GB sparse", dir + "/sparse.rlog"),
        ]
        for (what, path) in cases {
            for args in Self.readers {
                let r = try CLI.run(args + [path])
                expectNoCrash(r, "\(args) \(what)")
                expectOneLineError(r, naming: path, "\(args) \(what)")
            }
        }
        for path in [dir + "/hostile-header.rlog", dir + "/sparse.rlog"] {
            for args in [["dump"], ["verify"]] {
                let peak = try Self.peakMiB(args + [path])
                #expect(peak < Self.memoryBound, "\(args) \(path): peak RSS \(peak) MiB")
            }
        }
        let offsetNamed = try CLI.run(["dump", dir + "/hostile-header.rlog"])
        #expect(offsetNamed.stderr.contains("offset 12"))
        #expect(try CLI.run(["dump", dir + "/empty.rlog"]).stderr.contains("empty file"))
        #expect(try CLI.run(["verify", dir + "/random.rlog"]).stderr.contains("not a run log"))
    }

    @Test func damagedLogsAreReadAroundTheDamageWithStatus1() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (valid, frames) = try Self.validLog(dir)
        // One bit flipped inside the payload of the second frame.
        var flipped = valid
        flipped[Int(frames[1]) + 40] ^= 0x10
        try Fixtures.write(flipped, to: dir + "/bitflip.rlog")
        // A frame header claiming a 4 GiB payload, its header checksum made valid.
        var hostile = valid
        let at = Int(frames[2])
        hostile.replaceSubrange((at + 4)..<(at + 8), with: [0xFF, 0xFF, 0xFF, 0xFF])
        let crc = hostile.withUnsafeBytes { CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[at..<(at + 16)]))) }
        hostile.replaceSubrange((at + 16)..<(at + 20), with: withUnsafeBytes(of: crc.littleEndian, Array.init))
        try Fixtures.write(hostile, to: dir + "/hostile-frame.rlog")
        // A valid frame whose record claims a body of 2^62 bytes.
        var record: [UInt8] = [3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 1, 2, 3]
        record += Record.runEnd(RunEnd(status: .finished, endTime: 1)).encoded
        var hostileRecord = Array(valid[0..<Int(frames[1])])
        hostileRecord += try Frame.encode(content: record, codec: .none)
        hostileRecord += valid[Int(frames[1])...]
        try Fixtures.write(hostileRecord, to: dir + "/hostile-record.rlog")
        for (what, name, offset) in [("bit flip", "bitflip.rlog", frames[1]), ("hostile frame length", "hostile-frame.rlog", frames[2]), ("hostile record length", "hostile-record.rlog", frames[1])] {
            let path = dir + "/" + name
            for args in Self.readers {
                let r = try CLI.run(args + [path])
                expectNoCrash(r, "\(args) \(what)")
                #expect(r.status == 1, "\(args) \(what): \(r.status) \(r.stderr)")
                let report = args == ["verify"] ? r.stdout : r.stderr
                #expect(report.contains("\(path): offset \(offset): "), "\(args) \(what): \(report)")
                #expect(report.contains("bytes dropped"), "\(args) \(what)")
            }
            for args in [["dump"], ["verify"]] {
                let peak = try Self.peakMiB(args + [path])
                #expect(peak < Self.memoryBound, "\(args) \(what): peak RSS \(peak) MiB")
            }
        }
        // What is around the damage is all there: the rows of the other frames.
        let rows = try CLI.jsonLines(try CLI.run(["dump", "--json", "--kind", "metrics", dir + "/bitflip.rlog"]).stdout)
        #expect(rows.map { $0["step"] as? Int } == Array(100..<300))
    }

    @Test func aTruncatedOrSparseTailIsReportedNotAnError() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (valid, frames) = try Self.validLog(dir)
        try Fixtures.write(Array(valid[0..<(Int(frames[3]) + 30)]), to: dir + "/torn.rlog")
        try Fixtures.write(valid, to: dir + "/grown.rlog")
        let fd = open(dir + "/grown.rlog", O_WRONLY)
        #expect(ftruncate(fd, 1_000_000_000) == 0)  // a crash that left a hole of zeros
        close(fd)
        for (name, tail) in [("torn.rlog", frames[3]), ("grown.rlog", Int64(valid.count))] {
            let path = dir + "/" + name
            for args in Self.readers {
                let r = try CLI.run(args + [path])
                expectNoCrash(r, "\(args) \(name)")
                #expect(r.status == 0, "\(args) \(name): \(r.stderr)")
                let report = args == ["verify"] ? r.stdout : r.stderr
                #expect(report.contains("\(path): offset \(tail): incomplete tail of"), "\(args) \(name): \(report)")
            }
        }
    }

    @Test func listCopesWithMissingRootsAndBrokenRuns() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        expectOneLineError(try CLI.run(["ls", dir + "/nope"]), naming: dir + "/nope", "missing root")
        try Fixtures.write([1, 2, 3], to: dir + "/file")
        expectOneLineError(try CLI.run(["ls", dir + "/file"]), naming: dir + "/file", "file as root")
        try FileManager.default.createDirectory(atPath: dir + "/root/broken/logs", withIntermediateDirectories: true)
        try Fixtures.write([0x89, 0x52, 0x4C], to: dir + "/root/broken/logs/a0001-r0000-s0000.rlog")
        let r = try CLI.run(["ls", dir + "/root"])
        expectNoCrash(r, "broken run")
        #expect(r.status == 0)
        #expect(r.stdout.contains("broken"))
    }

    @Test func badUsageExitsWith2() throws {
        for args in [["dump"], ["dump", "--kind", "nope", "x"], ["dump", "--steps", "9:1", "x"], ["export", "x"], ["frobnicate"]] {
            let r = try CLI.run(args)
            expectNoCrash(r, "\(args)")
            #expect(r.status == 2, "\(args): \(r.status)")
            #expect(!r.stderr.isEmpty)
        }
        let help = try CLI.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("EXIT STATUS"))
    }
}
