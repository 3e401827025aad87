// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLogFormat
import Testing

/// The files in spec/vectors are what the writer produces and what the reader reads.
/// Set RUNLOG_REGENERATE_VECTORS=1 to rewrite them after a deliberate format change.
@Suite struct VectorTests {
    static let regenerate = ProcessInfo.processInfo.environment["RUNLOG_REGENERATE_VECTORS"] == "1"

    func check(_ name: String, bytes: [UInt8], jsonl: String, extra: [(String, String)] = []) throws {
        let dir = Vectors.directory
        let logURL = dir.appendingPathComponent("\(name).rlog")
        let jsonURL = dir.appendingPathComponent("\(name).jsonl")
        if Self.regenerate {
            try Data(bytes).write(to: logURL)
            try jsonl.write(to: jsonURL, atomically: true, encoding: .utf8)
            for (file, text) in extra { try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8) }
        }
        #expect(try [UInt8](Data(contentsOf: logURL)) == bytes, "writer output differs from \(name).rlog")
        #expect(try String(contentsOf: jsonURL, encoding: .utf8) == jsonl, "\(name).jsonl differs")
        for (file, text) in extra {
            #expect(try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8) == text)
        }
        // The reader gives back the JSON from the committed file.
        let (read, damage, tail) = try readAll(path: logURL.path)
        let expected = extra.first { $0.0.hasSuffix(".damage") }?.1 ?? ""
        let expectedTail = extra.first { $0.0.hasSuffix(".tail") }?.1 ?? ""
        #expect(read == jsonl)
        #expect(damage == expected)
        #expect(tail == expectedTail)
    }

    /// Reads a whole file: canonical JSON, damage lines, tail line.
    func readAll(path: String) throws -> (String, String, String) {
        let reader = try LogReader(path: path)
        var damage = ""
        reader.onDamage = { damage += "\($0)\n" }
        var json = CanonicalJSON()
        json.append(reader.header)
        while let frame = try reader.next() { for r in frame.records { json.append(r) } }
        let tail = try reader.tail().map { "\($0)\n" } ?? ""
        return (String(decoding: json.output, as: UTF8.self), damage, tail)
    }

    @Test func minimal() throws {
        let v = Vectors.minimal
        try check(v.name, bytes: try Vectors.bytes(of: v).bytes, jsonl: try Vectors.jsonl(of: v))
    }

    @Test func allKinds() throws {
        let v = Vectors.allKinds
        try check(v.name, bytes: try Vectors.bytes(of: v).bytes, jsonl: try Vectors.jsonl(of: v))
    }

    @Test func checkpointRemoved() throws {
        let v = Vectors.checkpointRemoved
        try check(v.name, bytes: try Vectors.bytes(of: v).bytes, jsonl: try Vectors.jsonl(of: v))
    }

    @Test func console() throws {
        let v = Vectors.console
        try check(v.name, bytes: try Vectors.bytes(of: v).bytes, jsonl: try Vectors.jsonl(of: v))
    }

    @Test func environment() throws {
        let v = Vectors.environment
        try check(v.name, bytes: try Vectors.bytes(of: v).bytes, jsonl: try Vectors.jsonl(of: v))
    }

    @Test func multiFrame() throws {
        let v = Vectors.multiFrame
        try check(v.name, bytes: try Vectors.bytes(of: v).bytes, jsonl: try Vectors.jsonl(of: v))
    }

    @Test func deepConfigIsReadTo64LevelsAndIsDamageBeyond() throws {
        let v = Vectors.deepConfig
        let (bytes, offsets) = try Vectors.bytes(of: v)
        let jsonl = CanonicalJSON.lines(header: Vectors.header("deep"), records: v.frames[0] + v.frames[2])
        let recordBytes = offsets[2] - offsets[1] - Frame.headerSize
        let damage = "offset \(offsets[1]): \(recordBytes) bytes dropped: malformed config record (kind 2) at content byte 0\n"
        try check(v.name, bytes: bytes, jsonl: jsonl, extra: [("deep-config.damage", damage)])
        #expect(Vectors.nested(levels: 64).depth == 64 && Vectors.nested(levels: 65).depth == 65)
    }

    @Test func tornTailReadsAllCompleteFrames() throws {
        let v = Vectors.multiFrame
        let (bytes, cut) = try Vectors.tornTail()
        let offsets = try Vectors.bytes(of: v).frameOffsets
        let tail = "10 bytes at offset \(offsets.last!) not yet a frame: incomplete frame header\n"
        _ = cut
        try check(
            "torn-tail", bytes: bytes, jsonl: try Vectors.jsonl(of: v, frames: 0..<(v.frames.count - 1)),
            extra: [("torn-tail.tail", tail)])
    }

    @Test func damagedMiddleLosesOnlyTheHitFrame() throws {
        let v = Vectors.multiFrame
        let (bytes, range) = try Vectors.damagedMiddle()
        var frames = v.frames
        frames.remove(at: 2)
        let h = Vectors.header("multi")
        let jsonl = CanonicalJSON.lines(header: h, records: frames.flatMap { $0 })
        let damage = "offset \(range.lowerBound): \(range.count) bytes dropped: frame payload checksum mismatch or undecodable payload\n"
        try check("damaged-middle", bytes: bytes, jsonl: jsonl, extra: [("damaged-middle.damage", damage)])
    }
}
