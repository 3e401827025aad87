// SPDX-License-Identifier: Apache-2.0
// Encoding and decoding of record bodies (spec §4).

extension Record {
    /// Appends `kind length body` to `content`.
    public func encode(into content: inout [UInt8]) {
        var w = WireWriter(capacity: 64)
        switch self {
        case .runStart(let s): s.encodeBody(into: &w)
        case .config(let entries), .summary(let entries), .environment(let entries):
            for e in entries { w.message(1) { e.encode(into: &$0) } }
        case .metrics(let m): m.encodeBody(into: &w)
        case .histogram(let h): h.encodeBody(into: &w)
        case .checkpoint(let c): c.encodeBody(into: &w)
        case .tags(let t):
            for tag in t.add { w.string(1, tag, always: true) }
            for tag in t.remove { w.string(2, tag, always: true) }
            if let notes = t.notes { w.string(3, notes, always: true) }
        case .runEnd(let e):
            w.uint(1, e.status.rawValue, always: true)
            w.sint(2, e.exitCode)
            w.sint(3, e.endTime)
            w.string(4, e.message)
        case .checkpointRemoved(let c):
            w.string(1, c.path, always: true)
            w.sint(2, c.time)
        case .console(let c): c.encodeBody(into: &w)
        case .unknown(_, let body): w.bytes = body
        }
        content.append(kind)
        var len = WireWriter(capacity: 10)
        len.varint(UInt64(w.bytes.count))
        content.append(contentsOf: len.bytes)
        content.append(contentsOf: w.bytes)
    }

    /// The encoded record alone.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Decodes one record body of `kind`; nil when malformed.
    static func decode(kind: UInt8, _ r: WireReader) -> Record? {
        switch kind {
        case 1: return RunStart.decode(r).map(Record.runStart)
        case 2: return Entry.decodeList(r).map(Record.config)
        case 3: return MetricsBlock.decode(r).map(Record.metrics)
        case 4: return Histogram.decode(r).map(Record.histogram)
        case 5: return Checkpoint.decode(r).map(Record.checkpoint)
        case 6: return TagsUpdate.decode(r).map(Record.tags)
        case 7: return Entry.decodeList(r).map(Record.summary)
        case 8: return RunEnd.decode(r).map(Record.runEnd)
        case 9: return CheckpointRemoved.decode(r).map(Record.checkpointRemoved)
        case 10: return ConsoleText.decode(r).map(Record.console)
        case 11: return Entry.decodeList(r).map(Record.environment)
        case 0: return nil
        default: return .unknown(kind: kind, body: r.byteArray(r.index..<r.end))
        }
    }
}

/// Decodes the records of a frame's content. Calls `malformed` with the
/// offset within the content of each record it cannot decode, and goes on.
public enum RecordDecoder {
    public static func decode(
        _ content: UnsafeRawBufferPointer, malformed: (_ offset: Int, _ reason: String) -> Void
    ) -> [Record] {
        var records: [Record] = []
        var r = WireReader(content)
        while !r.isAtEnd {
            let start = r.index
            let kind = content[start]
            var afterKind = WireReader(content, from: start + 1)
            guard let body = afterKind.readLengthDelimited() else {
                malformed(start, "record length runs past the end of the frame")
                break
            }
            r = WireReader(content, from: body.upperBound)
            if let record = Record.decode(kind: kind, WireReader(content, from: body.lowerBound, to: body.upperBound)) {
                records.append(record)
            } else {
                malformed(start, "malformed \(Record.kindName(kind)) record (kind \(kind))")
            }
        }
        return records
    }

    public static func decode(_ content: [UInt8], malformed: (_ offset: Int, _ reason: String) -> Void) -> [Record] {
        content.withUnsafeBytes { decode($0, malformed: malformed) }
    }
}

// MARK: - Values

extension Entry {
    func encode(into w: inout WireWriter) {
        w.string(1, key, always: true)
        w.message(2) { value.encode(into: &$0) }
    }

    static func decode(_ r: WireReader, depth: Int = 0) -> Entry? {
        var r = r
        let src = r
        var key = ""
        var value = Value.null
        let ok = r.forEachField { field, v in
            switch field {
            case 1: guard let range = v.range else { return false }; key = src.string(range)
            case 2:
                guard let range = v.range, let decoded = Value.decode(src.sub(range), depth: depth) else { return false }
                value = decoded
            default: break
            }
            return true
        }
        return ok ? Entry(key, value) : nil
    }

    /// Decodes `repeated Entry` at field 1.
    static func decodeList(_ r: WireReader, depth: Int = 0) -> [Entry]? {
        var r = r
        let src = r
        var entries: [Entry] = []
        let ok = r.forEachField { field, v in
            guard field == 1 else { return true }
            guard let range = v.range, let e = Entry.decode(src.sub(range), depth: depth) else { return false }
            entries.append(e)
            return true
        }
        return ok ? entries : nil
    }
}

extension Value {
    func encode(into w: inout WireWriter) {
        switch self {
        case .null: w.uint(1, 0, always: true)
        case .bool(let b): w.key(2, .varint); w.varint(b ? 1 : 0)
        case .int(let i): w.sint(3, i, always: true)
        case .double(let d): w.double(4, d, always: true)
        case .string(let s): w.string(5, s, always: true)
        case .list(let items): w.message(6) { inner in for item in items { inner.message(1) { item.encode(into: &$0) } } }
        case .map(let entries): w.message(7) { inner in for e in entries { inner.message(1) { e.encode(into: &$0) } } }
        }
    }

    /// `depth` counts the values around this one (0 for an entry's value):
    /// a value at `Value.maxDepth` or deeper is malformed.
    static func decode(_ r: WireReader, depth: Int) -> Value? {
        guard depth < Value.maxDepth else { return nil }
        var r = r
        let src = r
        var value = Value.null
        let ok = r.forEachField { field, v in
            switch field {
            case 1: value = .null
            case 2: guard let u = v.uint else { return false }; value = .bool(u != 0)
            case 3: guard let s = v.sint else { return false }; value = .int(s)
            case 4: guard let d = v.double else { return false }; value = .double(d)
            case 5: guard let range = v.range else { return false }; value = .string(src.string(range))
            case 6:
                guard let range = v.range else { return false }
                var items: [Value] = []
                var inner = src.sub(range)
                let good = inner.forEachField { f, iv in
                    guard f == 1 else { return true }
                    guard let ir = iv.range, let item = Value.decode(src.sub(ir), depth: depth + 1) else { return false }
                    items.append(item)
                    return true
                }
                guard good else { return false }
                value = .list(items)
            case 7:
                guard let range = v.range, let entries = Entry.decodeList(src.sub(range), depth: depth + 1) else {
                    return false
                }
                value = .map(entries)
            default: break
            }
            return true
        }
        // Not `ok ? value : nil`: `Value` is ExpressibleByNilLiteral, so that
        // `nil` would be `.null` and a malformed value would read as null.
        guard ok else { return nil }
        return value
    }
}

// MARK: - Other records

extension RunStart {
    func encodeBody(into w: inout WireWriter) {
        w.string(1, runID, always: true)
        w.string(2, project)
        w.string(3, name)
        w.string(4, group)
        for t in tags { w.string(5, t, always: true) }
        w.string(6, notes)
        w.string(7, host)
        w.uint(8, pid)
        w.sint(9, startTime)
        w.uint(10, attempt)
        w.uint(11, rank)
        w.uint(12, worldSize)
        w.string(13, jobID)
        for a in argv { w.string(14, a, always: true) }
        w.string(15, writer)
    }

    static func decode(_ r: WireReader) -> RunStart? {
        var r = r
        let src = r
        var s = RunStart(runID: "")
        s.attempt = 0
        var sawID = false
        let ok = r.forEachField { field, v in
            func str() -> String? { v.range.map { src.string($0) } }
            switch field {
            case 1: guard let x = str() else { return false }; s.runID = x; sawID = true
            case 2: guard let x = str() else { return false }; s.project = x
            case 3: guard let x = str() else { return false }; s.name = x
            case 4: guard let x = str() else { return false }; s.group = x
            case 5: guard let x = str() else { return false }; s.tags.append(x)
            case 6: guard let x = str() else { return false }; s.notes = x
            case 7: guard let x = str() else { return false }; s.host = x
            case 8: guard let x = v.uint else { return false }; s.pid = x
            case 9: guard let x = v.sint else { return false }; s.startTime = x
            case 10: guard let x = v.uint else { return false }; s.attempt = x
            case 11: guard let x = v.uint else { return false }; s.rank = x
            case 12: guard let x = v.uint else { return false }; s.worldSize = x
            case 13: guard let x = str() else { return false }; s.jobID = x
            case 14: guard let x = str() else { return false }; s.argv.append(x)
            case 15: guard let x = str() else { return false }; s.writer = x
            default: break
            }
            return true
        }
        return ok && sawID ? s : nil
    }
}

extension Histogram {
    func encodeBody(into w: inout WireWriter) {
        w.string(1, key, always: true)
        w.sint(2, step)
        w.sint(3, time)
        var counts = WireWriter(capacity: self.counts.count * 2)
        for c in self.counts { counts.varint(c) }
        w.bytesField(4, counts.bytes, always: true)
        switch bins {
        case .uniform(let low, let high):
            w.double(5, low)
            w.double(6, high)
        case .edges(let edges):
            var e = WireWriter(capacity: edges.count * 8)
            for x in edges { e.fixed64(x.bitPattern) }
            w.bytesField(7, e.bytes, always: true)
        }
        w.uint(8, count)
        w.double(9, min)
        w.double(10, max)
        w.double(11, sum)
        w.double(12, sumSquares)
        w.uint(13, nonfinite)
    }

    static func decode(_ r: WireReader) -> Histogram? {
        var r = r
        let src = r
        var h = Histogram(key: "", step: 0, time: 0, bins: .uniform(low: 0, high: 0), counts: [])
        var low = 0.0, high = 0.0
        var countsRange: Range<Int>?
        var edgesRange: Range<Int>?
        let ok = r.forEachField { field, v in
            switch field {
            case 1: guard let x = v.range else { return false }; h.key = src.string(x)
            case 2: guard let x = v.sint else { return false }; h.step = x
            case 3: guard let x = v.sint else { return false }; h.time = x
            case 4: guard let x = v.range else { return false }; countsRange = x
            case 5: guard let x = v.double else { return false }; low = x
            case 6: guard let x = v.double else { return false }; high = x
            case 7: guard let x = v.range else { return false }; edgesRange = x
            case 8: guard let x = v.uint else { return false }; h.count = x
            case 9: guard let x = v.double else { return false }; h.min = x
            case 10: guard let x = v.double else { return false }; h.max = x
            case 11: guard let x = v.double else { return false }; h.sum = x
            case 12: guard let x = v.double else { return false }; h.sumSquares = x
            case 13: guard let x = v.uint else { return false }; h.nonfinite = x
            default: break
            }
            return true
        }
        guard ok, !h.key.isEmpty, let countsRange, !countsRange.isEmpty else { return nil }
        var c = src.sub(countsRange)
        while !c.isAtEnd {
            guard let v = c.readVarint() else { return nil }
            h.counts.append(v)
        }
        if let edgesRange {
            guard edgesRange.count == 8 * (h.counts.count + 1) else { return nil }
            var e = src.sub(edgesRange)
            var edges: [Double] = []
            edges.reserveCapacity(h.counts.count + 1)
            while let bits = e.readFixed64() { edges.append(Double(bitPattern: bits)) }
            h.bins = .edges(edges)
        } else {
            h.bins = .uniform(low: low, high: high)
        }
        return h
    }
}

extension Checkpoint {
    func encodeBody(into w: inout WireWriter) {
        w.string(1, name, always: true)
        w.sint(2, step)
        w.sint(3, time)
        w.string(4, path, always: true)
        w.uint(5, size)
        w.bytesField(6, sha256, always: true)
        for a in aliases { w.string(7, a, always: true) }
        for e in metadata { w.message(8) { e.encode(into: &$0) } }
    }

    static func decode(_ r: WireReader) -> Checkpoint? {
        var r = r
        let src = r
        var c = Checkpoint(name: "", step: 0, time: 0, path: "", size: 0, sha256: [])
        let ok = r.forEachField { field, v in
            switch field {
            case 1: guard let x = v.range else { return false }; c.name = src.string(x)
            case 2: guard let x = v.sint else { return false }; c.step = x
            case 3: guard let x = v.sint else { return false }; c.time = x
            case 4: guard let x = v.range else { return false }; c.path = src.string(x)
            case 5: guard let x = v.uint else { return false }; c.size = x
            case 6: guard let x = v.range else { return false }; c.sha256 = src.byteArray(x)
            case 7: guard let x = v.range else { return false }; c.aliases.append(src.string(x))
            case 8: guard let x = v.range, let e = Entry.decode(src.sub(x)) else { return false }; c.metadata.append(e)
            default: break
            }
            return true
        }
        guard ok, !c.name.isEmpty, Checkpoint.isValidPath(c.path), c.sha256.count == 32 else { return nil }
        return c
    }
}

extension TagsUpdate {
    static func decode(_ r: WireReader) -> TagsUpdate? {
        var r = r
        let src = r
        var t = TagsUpdate()
        let ok = r.forEachField { field, v in
            switch field {
            case 1: guard let x = v.range else { return false }; t.add.append(src.string(x))
            case 2: guard let x = v.range else { return false }; t.remove.append(src.string(x))
            case 3: guard let x = v.range else { return false }; t.notes = src.string(x)
            default: break
            }
            return true
        }
        return ok ? t : nil
    }
}

extension RunEnd {
    static func decode(_ r: WireReader) -> RunEnd? {
        var r = r
        let src = r
        var e = RunEnd(status: Status(rawValue: 0), endTime: 0)
        var sawStatus = false
        let ok = r.forEachField { field, v in
            switch field {
            case 1: guard let x = v.uint else { return false }; e.status = Status(rawValue: x); sawStatus = true
            case 2: guard let x = v.sint else { return false }; e.exitCode = x
            case 3: guard let x = v.sint else { return false }; e.endTime = x
            case 4: guard let x = v.range else { return false }; e.message = src.string(x)
            default: break
            }
            return true
        }
        return ok && sawStatus ? e : nil
    }
}

extension CheckpointRemoved {
    static func decode(_ r: WireReader) -> CheckpointRemoved? {
        var r = r
        let src = r
        var c = CheckpointRemoved(path: "", time: 0)
        let ok = r.forEachField { field, v in
            switch field {
            case 1: guard let x = v.range else { return false }; c.path = src.string(x)
            case 2: guard let x = v.sint else { return false }; c.time = x
            default: break
            }
            return true
        }
        return ok && Checkpoint.isValidPath(c.path) ? c : nil
    }
}
