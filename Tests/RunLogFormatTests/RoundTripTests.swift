// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLogFormat
import TestSupport
import Testing

func decodeAll(_ bytes: [UInt8]) throws -> (header: FileHeader, records: [Record], damage: [LogReader.Damage], tail: LogReader.Tail?) {
    let reader = try LogReader(source: MemorySource(bytes))
    var damage: [LogReader.Damage] = []
    reader.onDamage = { damage.append($0) }
    var records: [Record] = []
    while let f = try reader.next() { records += f.records }
    return (reader.header, records, damage, try reader.tail())
}

@Suite struct RoundTripTests {
    @Test(arguments: [Frame.Codec.none, .zstd])
    func everyRecordKindRoundTrips(codec: Frame.Codec) throws {
        let v = Vectors.allKinds
        var bytes = try Vectors.header("rt").encoded()
        for f in v.frames { bytes += try Frame.encode(records: f, codec: codec) }
        let (header, records, damage, tail) = try decodeAll(bytes)
        #expect(header == Vectors.header("rt"))
        #expect(records == v.frames.flatMap { $0 })
        #expect(damage.isEmpty)
        #expect(tail == nil)
    }

    @Test func nanAndInfinitiesArePreservedBitForBit() throws {
        let values: [Double] = [.nan, .infinity, -.infinity, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 1.0 / 3]
        let block = MetricsBlock(keys: ["x"], steps: Array(0..<Int64(values.count)), times: Array(repeating: 0, count: values.count), values: [values])
        let (_, records, _, _) = try decodeAll(try Vectors.header("n").encoded() + Frame.encode(records: [.metrics(block)]))
        guard case .metrics(let back) = records.first else { Issue.record("no metrics"); return }
        #expect(back.columns[0].values.count == values.count)
        for (a, b) in zip(back.columns[0].values, values) {
            #expect(a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern)
        }
    }

    @Test func stepsInAnyOrderAndExtremeValuesAreKept() throws {
        let steps: [Int64] = [5, 3, 3, Int64.max, Int64.min, 0, -1, 7]
        let times: [Int64] = [10, 9, Int64.max, Int64.min, 0, 1, 2, 3]
        let block = MetricsBlock(keys: ["k"], steps: steps, times: times, values: [steps.map { Double($0) }])
        let (_, records, _, _) = try decodeAll(try Vectors.header("s").encoded() + Frame.encode(records: [.metrics(block)]))
        #expect(records == [.metrics(block)])
    }

    @Test func sparseRowsKeepTheirKeys() throws {
        var b = MetricsBlock.Builder()
        for i in 0..<100 {
            var row: [(String, Double)] = [("every", Double(i))]
            if i % 3 == 0 { row.append(("third", Double(i) / 3)) }
            if i == 99 { row.append(("last", 1)) }
            b.append(step: Int64(i), time: Int64(i), values: row)
        }
        let block = b.build()!
        #expect(block.columns[1].presence != nil)
        let (_, records, _, _) = try decodeAll(try Vectors.header("s").encoded() + Frame.encode(records: [.metrics(block)]))
        guard case .metrics(let back) = records.first else { Issue.record("no metrics"); return }
        var seen: [String: Int] = [:]
        back.forEachRow { step, _, values in
            for (k, v) in values {
                seen[k, default: 0] += 1
                if k == "third" { #expect(v == Double(step) / 3) }
            }
        }
        #expect(seen == ["every": 100, "third": 34, "last": 1])
    }

    @Test func builderKeepsTheLastValueOfAKeyRepeatedInARow() throws {
        var b = MetricsBlock.Builder()
        b.append(step: 1, time: 1, values: [("a", 1), ("a", 2)])
        let block = b.build()!
        #expect(block.columns[0].values == [2])
    }

    @Test func unknownFieldsAreSkipped() throws {
        // A run end with an extra field 9 (a string) and a fixed32 field 10.
        var body: [UInt8] = [0x08, 0x01, 0x4A, 0x03, 0x61, 0x62, 0x63, 0x55, 1, 2, 3, 4, 0x18, 0x04]
        var content: [UInt8] = [8, UInt8(body.count)]
        content += body
        body = []
        let frame = try Frame.encode(content: content, codec: .none)
        let (_, records, damage, _) = try decodeAll(try Vectors.header("u").encoded() + frame)
        #expect(records == [.runEnd(RunEnd(status: .finished, exitCode: 0, endTime: 2))])
        #expect(damage.isEmpty)
    }

    @Test func readingStartsAtAnyFrameBoundary() throws {
        let (bytes, offsets) = try Vectors.bytes(of: Vectors.multiFrame)
        for (i, offset) in offsets.enumerated() {
            let reader = try LogReader(source: MemorySource(bytes), from: Int64(offset))
            var records: [Record] = []
            while let f = try reader.next() { records += f.records }
            #expect(records == Vectors.multiFrame.frames[i...].flatMap { $0 })
        }
    }

    @Test func aLiveReaderPicksUpFramesAppendedLater() throws {
        let (bytes, offsets) = try Vectors.bytes(of: Vectors.multiFrame)
        let source = MemorySource(Array(bytes[0..<offsets[1]]))
        let reader = try LogReader(source: source)
        var got: [Record] = []
        while let f = try reader.next() { got += f.records }
        #expect(got.count == 1)
        // Byte by byte through the next frame: nothing until it is whole.
        for end in (offsets[1] + 1)..<offsets[2] {
            source.bytes = Array(bytes[0..<end])
            #expect(try reader.next() == nil)
        }
        source.bytes = bytes
        while let f = try reader.next() { got += f.records }
        #expect(got == Vectors.multiFrame.frames.flatMap { $0 })
    }

    @Test func writerReopensAfterATornTailAndAppends() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/log.rlog"
        let (torn, _) = try Vectors.tornTail()
        try Data(torn).write(to: URL(fileURLWithPath: path))
        let writer = try LogWriter(appendingTo: path)
        try writer.append([.runEnd(RunEnd(status: .finished, endTime: 1))])
        try writer.close()
        let (_, records, damage, tail) = try decodeAll([UInt8](Data(contentsOf: URL(fileURLWithPath: path))))
        let expected = Vectors.multiFrame.frames.dropLast().flatMap { $0 } + [.runEnd(RunEnd(status: .finished, endTime: 1))]
        #expect(records == expected)
        #expect(damage.isEmpty)
        #expect(tail == nil)
    }

    @Test func creatingOverAnExistingFileFails() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/log.rlog"
        _ = try LogWriter(creating: path, header: Vectors.header("a"))
        #expect(throws: FormatError.self) { try LogWriter(creating: path, header: Vectors.header("a")) }
    }

    @Test func invalidRunIDsAreRefused() {
        for bad in ["", "a/b", "a b", String(repeating: "x", count: 65), "é"] {
            #expect(throws: FormatError.self) { try FileHeader(runID: bad, created: 0, writer: "").encoded() }
        }
    }

    @Test func checkpointPathsMustStayInsideTheRunDirectory() {
        for good in ["a", "checkpoints/best/1-model.pt", "a.b/c"] { #expect(Checkpoint.isValidPath(good)) }
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "a/./b", "a/", "."] { #expect(!Checkpoint.isValidPath(bad)) }
    }
}

func temporaryDirectory() throws -> String { try TestPaths.temporaryDirectory("runlog-test") }
