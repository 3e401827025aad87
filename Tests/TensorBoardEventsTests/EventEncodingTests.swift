// SPDX-License-Identifier: Apache-2.0
import RunLogFormat
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import TensorBoardEvents

private func hex(_ b: some Sequence<UInt8>) -> String { b.map { String(format16($0)) }.joined() }
private func format16(_ b: UInt8) -> String {
    let d = Array("0123456789abcdef")
    return String([d[Int(b >> 4)], d[Int(b & 15)]])
}

/// Expected bytes are what TensorBoard's own Python code writes for the same
/// events (`event_pb2.Event(...).SerializeToString()`, `RecordWriter`).
@Suite struct EventEncodingTests {
    @Test func theFileVersionRecordIsFramedAsTensorBoardFramesIt() {
        var e = EventEncoder()
        e.fileVersion(wallTime: 1.5)
        #expect(hex(e.bytes) == "1800000000000000a37f4b2209000000000000f83f1a0d627261696e2e4576656e743a322a28646c")
        #expect(e.events == 1)
    }

    @Test func aScalarIsAFloat32SimpleValue() {
        var e = EventEncoder()
        e.scalar(tag: "loss", step: 300, wallTime: 1764000000.123456, value: 0.25)
        e.scalar(tag: "loss", step: -2, wallTime: 1764000000.123456, value: 0.25)
        let (records, end) = TFRecord.records(in: e.bytes)
        #expect(end == e.bytes.count)
        #expect(records.count == 2)
        #expect(hex(records[0]) == "09b4e607402049da4110ac022a0d0a0b0a046c6f7373150000803e")
        #expect(hex(records[1]) == "09b4e607402049da4110feffffffffffffffff012a0d0a0b0a046c6f7373150000803e")
    }

    @Test func readingStopsAtATornOrCorruptRecord() {
        var e = EventEncoder()
        for i in 0..<3 { e.scalar(tag: "x", step: Int64(i), wallTime: 1, value: Double(i)) }
        let whole = e.bytes
        let second = TFRecord.records(in: whole).records[1]
        let endOfSecond = second.endIndex + 4
        #expect(TFRecord.records(in: Array(whole.dropLast(1))).end == endOfSecond)
        var flipped = whole
        flipped[second.startIndex + 3] ^= 1
        #expect(TFRecord.records(in: flipped).records.count == 1)
    }

    @Test func uniformBinsGiveUpperEdgesEndingExactlyAtHigh() {
        var h = Histogram(key: "w", step: 1, time: 2, bins: .uniform(low: -1, high: 0.3), counts: [1, 0, 2])
        let width: Double = 1.3
        let expected: [Double] = [-1 + 1 * width / 3, -1 + 2 * width / 3, 0.3]
        #expect(EventEncoder.upperEdges(h) == expected)
        h.bins = .edges([0, 1, 5, 9])
        #expect(EventEncoder.upperEdges(h) == [1, 5, 9])
    }
}

@Suite struct EventMapperTests {
    static let block = MetricsBlock(
        keys: ["a", "b"], steps: [1, 2, 3], times: [10, 20, 30],
        columns: [.init(values: [1, 2, 3]), .init(values: [.nan, -.infinity], presence: [0b101])])

    /// A batch re-encoded after a crash, and a longer batch from the same
    /// cursor, begin with the bytes the first encoding wrote.
    @Test func aBatchEncodesTheSameWhateverWasBeforeItAndALongerOneExtendsIt() {
        var m = EventMapper()
        m.add(.metrics(Self.block), from: 0, limit: 2)
        m.encoder.startBatch()
        m.encoder.removeBytes()
        let context = m.context
        #expect(m.add(.metrics(Self.block), from: 2, limit: 2) == 2)
        let short = m.encoder.bytes

        var again = EventMapper(context: context)
        #expect(again.add(.metrics(Self.block), from: 2) == 3)
        #expect(Array(again.encoder.bytes.prefix(short.count)) == short)
        #expect(again.encoder.events == 3)
        #expect(EventMapper.itemCount(.metrics(Self.block)) == 5)
    }

    @Test func recordsWithoutAStepTakeTheLastOne() {
        var m = EventMapper()
        m.add(.metrics(Self.block))
        #expect(m.context.step == 3 && m.context.time == 30 && m.context.metricKeys == ["a", "b"])
        m.add(.summary([Entry("best", .double(0.5)), Entry("name", .string("x"))]))
        // 5 points, summary/best, the summary text.
        #expect(m.encoder.events == 7)
    }

    @Test func consoleTextIsACodeBlockAtItsOwnTime() {
        var m = EventMapper(context: .init(step: 5, time: 1))
        m.add(.console(ConsoleText(stream: .stderr, time: 2_000_000, text: "```x\ny", dropped: 3)))
        let records = TFRecord.records(in: m.encoder.bytes).records
        #expect(records.count == 1)
        let bytes = Array(records[0])
        #expect(hex(bytes.prefix(11)) == "0900000000000000401005")  // wall time 2.0 s, step 5
        let text = Array("    [3 bytes dropped]\n    ```x\n    y".utf8)
        #expect(String(decoding: bytes, as: UTF8.self).contains("runlog/console/stderr"))
        #expect(bytes.indices.contains { bytes[$0...].starts(with: text) })
    }

    @Test func reservedKeysGetALeadingUnderscore() {
        #expect(EventMapper.tag("_hparams_/session_start_info") == "__hparams_/session_start_info")
        #expect(EventMapper.tag("train/loss") == "train/loss")
    }
}

@Suite struct TensorBoardLayoutTests {
    @Test func componentsKeepOnlySafeCharacters() {
        #expect(TensorBoardLayout.component("..") == "__")
        #expect(TensorBoardLayout.component(".") == "_")
        #expect(TensorBoardLayout.component("") == "_")
        #expect(TensorBoardLayout.component("a/b c:é") == "a_b_c__")
        #expect(TensorBoardLayout.fileName(runID: "x/y", startTime: 1_764_000_000_500_000) == "events.out.tfevents.1764000000.runlog-x_y")
    }

    @Test func aSecondRunOfOneNameGetsItsIdAndNoPathLeavesTheRoot() throws {
        let root = "/tmp/tb-layout-\(UInt64.random(in: 0...UInt64.max))"
        defer { EventFileTests.remove(root) }
        let first = TensorBoardLayout.runDirectory(root: root, project: "p", name: "base", runID: "r1", rank: 0)
        #expect(first == "p/base")
        _ = try EventFile(directory: root + "/" + first, name: TensorBoardLayout.fileName(runID: "r1", startTime: 0))
        #expect(TensorBoardLayout.runDirectory(root: root, project: "p", name: "base", runID: "r1", rank: 0) == "p/base")
        #expect(TensorBoardLayout.runDirectory(root: root, project: "p", name: "base", runID: "r2", rank: 3) == "p/base.r2/rank3")
        #expect(TensorBoardLayout.runDirectory(root: root, project: "../..", name: "", runID: "..", rank: 0) == ".._../__")
    }
}

@Suite struct EventFileTests {
    static func remove(_ path: String) {
        _ = try? EventFileTests.run("/bin/rm", ["-rf", path])
    }

    static func run(_ tool: String, _ args: [String]) throws {
        var pid: pid_t = 0
        let argv = ([tool] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, tool, nil, nil, argv, environ) == 0 else { return }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    @Test func openingCutsTheFileToTheAcknowledgedLength() throws {
        let dir = "/tmp/tb-file-\(UInt64.random(in: 0...UInt64.max))"
        defer { Self.remove(dir) }
        let f = try EventFile(directory: dir + "/a/b", name: "e")
        try f.append([1, 2, 3, 4, 5])
        try f.sync()
        #expect(f.length == 5)
        let g = try EventFile(directory: dir + "/a/b", name: "e", length: 2)
        try g.append([9])
        var st = stat()
        stat(dir + "/a/b/e", &st)
        #expect(st.st_size == 3)
    }

    @Test func aFileInTheWayIsAOneLineErrorNamingIt() throws {
        let dir = "/tmp/tb-file-\(UInt64.random(in: 0...UInt64.max))"
        defer { Self.remove(dir) }
        let f = try EventFile(directory: dir, name: "blocker")
        _ = f
        #expect {
            _ = try EventFile(directory: dir + "/blocker/x", name: "e")
        } throws: { error in
            let e = error as! EventFileError
            return e.operation == .createDirectory && e.description == "\(dir)/blocker/x: cannot create directory: Not a directory"
                && !e.isTransient
        }
    }
}
