// SPDX-License-Identifier: Apache-2.0
import RunLogFormat

/// Encodes TensorBoard `Event` protos (tensorboard/compat/proto/event.proto),
/// each framed as a TFRecord, into `bytes`.
///
/// - Scalars are `simple_value`s, float32: the one form every TensorBoard
///   reader takes (its Rust data server, the default loader, reads scalars
///   as float32 only, and no other form), so values are rounded to float32.
/// - Histograms are `HistogramProto`s: `bucket_limit` holds each bin's upper
///   edge, `bucket` its count, `min`, `max`, `num`, `sum` and `sum_squares`
///   the record's statistics of its finite values.
/// - Text is a `DT_STRING` tensor with the text plugin's metadata (Markdown).
/// - Hyperparameters are the HParams plugin's `SessionStartInfo`.
///
/// A text summary's metadata is written with the first value of its tag
/// since the last `startBatch()` (TensorBoard keeps the first it sees per
/// tag), so the bytes of a batch depend on the batch alone: a batch sent
/// again after a crash is encoded exactly as before, and a longer batch
/// starting at the same place begins with the same bytes.
public struct EventEncoder {
    /// The framed events encoded so far.
    public var bytes: [UInt8] = []
    /// How many events `bytes` holds.
    public private(set) var events = 0

    private var described: Set<String> = []
    private var scalarPrefixes: [String: ScalarTag] = [:]

    /// The bytes of a scalar event's summary before its value, made once per tag.
    public struct ScalarTag: Sendable {
        let prefix: [UInt8]
    }

    public init() { bytes.reserveCapacity(1 << 16) }

    /// Forgets which tags have had their metadata written.
    public mutating func startBatch() { described.removeAll(keepingCapacity: true) }

    /// Empties `bytes` (the batch continues).
    public mutating func removeBytes() {
        bytes.removeAll(keepingCapacity: true)
        events = 0
    }

    /// The event every event file starts with.
    public mutating func fileVersion(wallTime: Double) {
        event(wallTime: wallTime, step: nil) { $0.string(3, "brain.Event:2") }
    }

    /// One scalar.
    public mutating func scalar(tag: String, step: Int64, wallTime: Double, value: Double) {
        scalar(scalarTag(tag), step: step, wallTime: wallTime, value: value)
    }

    /// The bytes of a scalar's summary before its value; for callers that
    /// write many points of few tags.
    public mutating func scalarTag(_ tag: String) -> ScalarTag {
        if let t = scalarPrefixes[tag] { return t }
        var w = ProtoWriter()
        w.message(5) { summary in
            summary.message(1) { value in
                value.string(1, tag)
                value.bytes.append(contentsOf: [0x15, 0, 0, 0, 0])  // simple_value, 4 bytes
            }
        }
        let t = ScalarTag(prefix: Array(w.bytes.dropLast(4)))
        if scalarPrefixes.count > 100_000 { scalarPrefixes.removeAll() }
        scalarPrefixes[tag] = t
        return t
    }

    /// One scalar event of a tag made by `scalarTag`.
    @inline(__always)
    public mutating func scalar(_ tag: ScalarTag, step: Int64, wallTime: Double, value: Double) {
        let start = TFRecord.begin(&bytes)
        bytes.append(0x09)
        withUnsafeBytes(of: wallTime.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(0x10)
        bytes.appendVarint(UInt64(bitPattern: step))
        bytes.append(contentsOf: tag.prefix)
        withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        TFRecord.end(&bytes, from: start)
        events += 1
    }

    /// `SummaryMetadata` naming a plugin, with empty content and a data class
    /// (1 scalar, 2 tensor).
    private static func metadata(plugin: String, dataClass: Int64) -> (inout ProtoWriter) -> Void {
        { m in
            m.message(1) { $0.string(1, plugin) }
            m.int(4, dataClass)
        }
    }

    /// One histogram as a `HistogramProto`.
    public mutating func histogram(tag: String, _ h: Histogram) {
        event(wallTime: Self.seconds(h.time), step: h.step) { e in
            e.message(5) { summary in
                summary.message(1) { value in
                    value.string(1, tag)
                    value.message(5) { histo in
                        histo.double(1, h.min)
                        histo.double(2, h.max)
                        histo.double(3, Double(h.count))
                        histo.double(4, h.sum)
                        histo.double(5, h.sumSquares)
                        histo.doubles(6, Self.upperEdges(h))
                        histo.doubles(7, h.counts.lazy.map { Double($0) })
                    }
                }
            }
        }
    }

    /// Each bin's upper edge: for uniform bins `low + (i+1)·(high−low)/b`, the last exactly `high`.
    public static func upperEdges(_ h: Histogram) -> [Double] {
        switch h.bins {
        case .edges(let edges):
            return Array(edges.dropFirst())
        case .uniform(let low, let high):
            let b = h.counts.count
            return (0..<b).map { i in i == b - 1 ? high : low + Double(i + 1) * (high - low) / Double(b) }
        }
    }

    /// One text value (Markdown) for the text plugin.
    public mutating func text(tag: String, step: Int64, wallTime: Double, _ text: String) {
        let first = described.insert(tag).inserted
        event(wallTime: wallTime, step: step) { e in
            e.message(5) { summary in
                summary.message(1) { value in
                    value.string(1, tag)
                    value.message(8) { tensor in
                        tensor.int(1, 7)  // DT_STRING
                        tensor.string(8, text)
                    }
                    if first { value.message(9, Self.metadata(plugin: "text", dataClass: 2)) }
                }
            }
        }
    }

    /// A hyperparameter value as `google.protobuf.Value`.
    public enum HParam: Equatable, Sendable {
        case number(Double)
        case string(String)
        case bool(Bool)
    }

    /// The HParams plugin's session start: the run's hyperparameters.
    public mutating func hparams(_ values: [(String, HParam)], startTime: Double, step: Int64) {
        event(wallTime: startTime, step: step) { e in
            e.message(5) { summary in
                summary.message(1) { value in
                    value.string(1, "_hparams_/session_start_info")
                    value.message(8) { tensor in  // the plugin's null tensor
                        tensor.int(1, 1)
                        tensor.message(2) { $0.message(2) { _ in } }
                    }
                    value.message(9) { m in
                        m.message(1) { pd in
                            pd.string(1, "hparams")
                            pd.message(2) { data in
                                data.message(3) { start in
                                    for (k, v) in values {
                                        start.message(1) { entry in
                                            entry.string(1, k)
                                            entry.message(2) { pv in
                                                switch v {
                                                case .number(let d): pv.double(2, d)
                                                case .string(let s): pv.string(3, s)
                                                case .bool(let b): pv.bool(4, b)
                                                }
                                            }
                                        }
                                    }
                                    start.double(5, startTime)
                                }
                            }
                        }
                        m.int(4, 2)  // DATA_CLASS_TENSOR
                    }
                }
            }
        }
    }

    /// Seconds since the epoch, from microseconds.
    @inline(__always)
    public static func seconds(_ micros: Int64) -> Double { Double(micros) / 1e6 }

    private mutating func event(wallTime: Double, step: Int64?, _ body: (inout ProtoWriter) -> Void) {
        var w = ProtoWriter(capacity: 0)
        swap(&w.bytes, &bytes)
        let start = TFRecord.begin(&w.bytes)
        w.double(1, wallTime)
        if let step { w.int(2, step) }
        body(&w)
        TFRecord.end(&w.bytes, from: start)
        swap(&w.bytes, &bytes)
        events += 1
    }
}
