// SPDX-License-Identifier: Apache-2.0
import Foundation
import SeededRandom
import RunLogFormat
import Testing

/// Damage and truncation: the reader returns exactly what survives, reports
/// what it dropped, and never crashes or allocates by an unchecked length.
@Suite struct CorruptionTests {
    @Test func truncationAtEveryOffsetReturnsExactlyTheCompleteFrames() throws {
        let v = Vectors.multiFrame
        let (bytes, offsets) = try Vectors.bytes(of: v)
        let frameEnds = offsets.dropFirst() + [bytes.count]
        for cut in 0...bytes.count {
            let prefix = Array(bytes[0..<cut])
            guard cut >= offsets[0] else {
                // The header itself is incomplete: not written yet, never "not a run log".
                #expect(throws: FormatError.self) { try LogReader(source: MemorySource(prefix)) }
                do { _ = try LogReader(source: MemorySource(prefix)) } catch let e as FormatError {
                    #expect(e.code == .headerIncomplete, "cut \(cut): \(e)")
                }
                continue
            }
            let (_, records, damage, tail) = try decodeAll(prefix)
            let complete = frameEnds.filter { $0 <= cut }.count
            #expect(records == v.frames[0..<complete].flatMap { $0 }, "cut at \(cut)")
            #expect(damage.isEmpty, "cut at \(cut)")
            let lastEnd = complete == 0 ? offsets[0] : frameEnds[frameEnds.startIndex + complete - 1]
            #expect(tail?.offset ?? Int64(cut) == Int64(lastEnd))
            #expect(tail?.length ?? 0 == Int64(cut - lastEnd))
        }
    }

    @Test func aFlippedBitCostsOnlyTheFrameItHits() throws {
        let v = Vectors.multiFrame
        let (bytes, offsets) = try Vectors.bytes(of: v)
        let frameEnds = Array(offsets.dropFirst()) + [bytes.count]
        var rng = SplitMix64(seed: 42)
        for _ in 0..<400 {
            let position = offsets[0] + Int(rng.next() % UInt64(bytes.count - offsets[0]))
            var damaged = bytes
            damaged[position] ^= 1 << UInt8(rng.next() % 8)
            let hit = offsets.lastIndex { $0 <= position }!
            let (_, records, damage, tail) = try decodeAll(damaged)
            var expected = v.frames
            expected.remove(at: hit)
            #expect(records == expected.flatMap { $0 }, "bit flip at \(position)")
            if hit == offsets.count - 1 {
                // The last frame: indistinguishable from a torn write, so it is tail.
                #expect(damage.isEmpty)
                #expect(tail == LogReader.Tail(offset: Int64(offsets[hit]), length: Int64(bytes.count - offsets[hit]), reason: tail?.reason ?? ""))
            } else {
                #expect(damage.count == 1, "bit flip at \(position)")
                #expect(damage.first?.offset == Int64(offsets[hit]))
                #expect(damage.first?.length == Int64(frameEnds[hit] - offsets[hit]))
                #expect(tail == nil)
            }
        }
    }

    @Test func garbageBetweenFramesIsReportedWithItsLength() throws {
        let (bytes, offsets) = try Vectors.bytes(of: Vectors.multiFrame)
        let junk: [UInt8] = Array(repeating: 0xD3, count: 37) + Frame.magic + [1, 2, 3]  // looks like frames, is not
        let spliced = Array(bytes[0..<offsets[2]]) + junk + Array(bytes[offsets[2]...])
        let (_, records, damage, tail) = try decodeAll(spliced)
        #expect(records == Vectors.multiFrame.frames.flatMap { $0 })
        #expect(damage == [LogReader.Damage(offset: Int64(offsets[2]), length: Int64(junk.count), reason: "no frame magic")])
        #expect(tail == nil)
    }

    @Test func hostileLengthsNeverDriveAllocation() throws {
        let header = try Vectors.header("h").encoded()
        for (payload, content) in [(UInt32.max, UInt32.max), (UInt32(Frame.maxPayloadLength + 1), 10), (10, UInt32(Frame.maxContentLength + 1)), (0, 0), (5, 6)] {
            var frame = Frame.magic
            withUnsafeBytes(of: payload.littleEndian) { frame += $0 }
            withUnsafeBytes(of: content.littleEndian) { frame += $0 }
            frame += [0, 0, 0, 0]
            // A correct header CRC, so the lengths themselves must be refused.
            let crc = CRC32C.mask(CRC32C.checksum(frame))
            withUnsafeBytes(of: crc.littleEndian) { frame += $0 }
            frame += [0, 0, 0, 0] + [UInt8](repeating: 7, count: 64)
            let (_, records, damage, tail) = try decodeAll(header + frame)
            #expect(records.isEmpty)
            #expect(damage.isEmpty)
            #expect(tail?.length == Int64(frame.count))
            #expect(tail?.reason.contains("out of bounds") == true, "\(tail?.reason ?? "")")
        }
    }

    @Test func hostileLengthsInsideRecordsAreMalformedNotFatal() throws {
        // A valid frame whose content holds: a record claiming 2^62 bytes.
        var content: [UInt8] = [3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x3F]
        var good: [UInt8] = []
        Record.runEnd(RunEnd(status: .finished, endTime: 1)).encode(into: &good)
        content = good + content
        let (_, records, damage, _) = try decodeAll(try Vectors.header("h").encoded() + Frame.encode(content: content, codec: .none))
        #expect(records == [.runEnd(RunEnd(status: .finished, endTime: 1))])
        #expect(damage.count == 1)
        #expect(damage.first?.reason.contains("runs past the end") == true)
    }

    @Test func malformedMetricsBlocksAreRejected() throws {
        let header = try Vectors.header("m").encoded()
        func body(_ build: (inout [UInt8]) -> Void) -> [UInt8] {
            var b: [UInt8] = []
            build(&b)
            return [3, UInt8(b.count)] + b
        }
        let cases: [[UInt8]] = [
            // rows = 3 but one step varint.
            body { $0 += [0x0A, 1, 0x61, 0x10, 3, 0x1A, 1, 2, 0x22, 3, 0, 0, 0, 0x2A, 25, 0] + [UInt8](repeating: 0, count: 24) },
            // rows = 1, no columns for the key.
            body { $0 += [0x0A, 1, 0x61, 0x10, 1, 0x1A, 1, 2, 0x22, 1, 0] },
            // a column with coding 3 (reserved).
            body { $0 += [0x0A, 1, 0x61, 0x10, 1, 0x1A, 1, 2, 0x22, 1, 0, 0x2A, 9, 6] + [UInt8](repeating: 0, count: 8) },
            // a column one byte short.
            body { $0 += [0x0A, 1, 0x61, 0x10, 1, 0x1A, 1, 2, 0x22, 1, 0, 0x2A, 8, 0] + [UInt8](repeating: 0, count: 7) },
            // rows = 2^63 with a one-byte steps field.
            body { $0 += [0x0A, 1, 0x61, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x1A, 1, 2] },
            // a varint of 11 bytes.
            body { $0 += [0x10] + [UInt8](repeating: 0x80, count: 10) + [1] },
        ]
        for c in cases {
            let (_, records, damage, _) = try decodeAll(header + Frame.encode(content: c, codec: .none))
            #expect(records.isEmpty)
            #expect(damage.count == 1, "\(c)")
        }
    }

    @Test func malformedConsoleRecordsAreRejected() throws {
        let header = try Vectors.header("c").encoded()
        let cases: [[UInt8]] = [
            [10, 3, 0x1A, 1, 0x61],  // no stream
            [10, 5, 0x08, 0, 0x1A, 1, 0x61],  // stream 0
            [10, 5, 0x08, 1, 0x1A, 5, 0x61],  // text past the end of the body
            [10, 4, 0x08, 1, 0x1B, 0x61],  // wire type 3
        ]
        for c in cases {
            let (_, records, damage, _) = try decodeAll(header + Frame.encode(content: c, codec: .none))
            #expect(records.isEmpty, "\(c)")
            #expect(damage.count == 1, "\(c)")
        }
        let good: [UInt8] = [10, 5, 0x08, 2, 0x1A, 1, 0x61]
        let (_, records, damage, _) = try decodeAll(header + Frame.encode(content: good, codec: .none))
        #expect(damage.isEmpty)
        #expect(records == [.console(ConsoleText(stream: .stderr, time: 0, text: "a"))])
    }

    @Test func decompressionBombsAreRefused() throws {
        // 16 MiB of zeros compress to a few hundred bytes; declare a small content length.
        let big = [UInt8](repeating: 0, count: 16 << 20)
        var compressed: [UInt8] = []
        try big.withUnsafeBytes { try ZstdCompressor(level: 1).compress($0, appendingTo: &compressed) }
        func frame(payload: [UInt8], contentLength: UInt32) -> [UInt8] {
            var f = Frame.magic
            withUnsafeBytes(of: UInt32(payload.count).littleEndian) { f += $0 }
            withUnsafeBytes(of: contentLength.littleEndian) { f += $0 }
            f += [1, 0, 0, 0]
            withUnsafeBytes(of: CRC32C.mask(CRC32C.checksum(f)).littleEndian) { f += $0 }
            withUnsafeBytes(of: CRC32C.mask(CRC32C.checksum(payload)).littleEndian) { f += $0 }
            return f + payload
        }
        let header = try Vectors.header("z").encoded()
        for declared: UInt32 in [100, 1 << 20] {
            let (_, records, _, tail) = try decodeAll(header + frame(payload: compressed, contentLength: declared))
            #expect(records.isEmpty)
            #expect(tail != nil)
        }
        // Two zstd frames in one payload are refused too.
        let small = try Frame.encode(content: Record.runEnd(RunEnd(status: .finished, endTime: 1)).encoded)
        let one = Array(small[Frame.headerSize...])
        let (_, records, _, _) = try decodeAll(header + frame(payload: one + one, contentLength: 2 * UInt32(Record.runEnd(RunEnd(status: .finished, endTime: 1)).encoded.count)))
        #expect(records.isEmpty)
    }

    @Test func filesThatAreNotLogsAreRefusedWithOneLine() throws {
        let header = try Vectors.header("x").encoded()
        var wrongVersion = header
        wrongVersion[8] = 2
        var random = SplitMix64(seed: 7)
        let cases: [(String, [UInt8], FormatError.Code)] = [
            ("random bytes", (0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) }, .notARunLog),
            ("text", Array("hello, this is not a log\n".utf8), .notARunLog),
            ("flipped header byte", { var h = header; h[17] ^= 1; return h }(), .notARunLog),
            ("empty", [], .headerIncomplete),
            ("magic only", FileHeader.magic, .headerIncomplete),
            ("hostile header length", { var h = header; h[12] = 0xFF; h[13] = 0xFF; h[14] = 0xFF; h[15] = 0x7F; return h }(), .notARunLog),
        ]
        for (what, bytes, code) in cases {
            do {
                _ = try LogReader(source: MemorySource(bytes), name: "f.rlog")
                Issue.record("\(what) was accepted")
            } catch let e as FormatError {
                #expect(e.code == code, "\(what): \(e)")
                #expect(e.description.hasPrefix("f.rlog: "), "\(what): \(e)")
                #expect(!e.description.contains("\n"))
            }
        }
        // A version bump is refused as unsupported, not as garbage: fix the CRC first.
        var v2 = Array(wrongVersion[0..<(wrongVersion.count - 4)])
        withUnsafeBytes(of: CRC32C.mask(CRC32C.checksum(v2)).littleEndian) { v2 += $0 }
        #expect(throws: FormatError(.unsupportedVersion, "<memory>: unsupported format version 2", offset: 8)) {
            try LogReader(source: MemorySource(v2))
        }
    }

    @Test func aSparseFileWithAHoleIsReadWithoutGrowingMemory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/sparse.rlog"
        let (bytes, _) = try Vectors.bytes(of: Vectors.multiFrame)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        // 10 GiB of hole after the last frame: a tail, scanned but never held in memory.
        let fd = open(path, O_WRONLY)
        #expect(ftruncate(fd, off_t(bytes.count) + (10 << 30)) == 0)
        close(fd)
        let reader = try LogReader(path: path)
        var count = 0
        while let f = try reader.next() { count += f.records.count }
        #expect(count == Vectors.multiFrame.frames.flatMap { $0 }.count)
        #expect(try reader.tail()?.length == 10 << 30)
    }
}

/// A small deterministic random number generator for reproducible tests.
