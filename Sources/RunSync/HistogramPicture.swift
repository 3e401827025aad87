// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLayout

/// What MLflow shows of one histogram key: a picture of its distribution
/// over steps, drawn as TensorBoard's Distributions view draws it (bands
/// between the percentiles of `HistogramSummary`, darker toward the median,
/// and the median as a line), and the same points as JSON.
///
/// Both are functions of the summary alone: the same summary gives the
/// same bytes.
enum HistogramPicture {
    static let width = 800.0, height = 400.0
    private static let left = 72.0, right = 24.0, top = 52.0, bottom = 40.0

    /// The artifact directory of `key` (a histogram key, with its rank
    /// prefix), `histograms/<key>`. A key whose last component is one of the
    /// file names used in it (`distribution.svg`, `distribution.json`) gets
    /// a `_` appended, so that no key's directory is another key's picture.
    static func directory(_ key: String) -> [String] {
        var parts = ArtifactPath(["histograms", key]).components
        if let last = parts.last, parts.count > 2, last == "distribution.svg" || last == "distribution.json" {
            parts[parts.count - 1] = last + "_"
        }
        return parts
    }

    static func svgPath(_ key: String) -> ArtifactPath { ArtifactPath(directory(key) + ["distribution.svg"]) }
    static func jsonPath(_ key: String) -> ArtifactPath { ArtifactPath(directory(key) + ["distribution.json"]) }

    /// An SVG 1.1 image, `width` × `height`: title, axes with ticks, one
    /// band per pair of percentiles and the median line, with one vertex per
    /// point shown, in step order (`data-points` holds their number).
    static func svg(key: String, _ summary: HistogramSummary) -> [UInt8] {
        let points = summary.shown.sorted { ($0.step, $0.index) < ($1.step, $1.index) }
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(Int(width))\" height=\"\(Int(height))\""
        s += " viewBox=\"0 0 \(Int(width)) \(Int(height))\" data-points=\"\(points.count)\" data-histograms=\"\(summary.added)\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        s += "<text x=\"\(Int(left))\" y=\"22\" font-family=\"sans-serif\" font-size=\"15\" fill=\"#202124\">\(escaped(key))</text>\n"
        var caption = "\(summary.added) histogram\(summary.added == 1 ? "" : "s")"
        if let first = points.first, let last = points.last {
            caption += ", steps \(first.step) to \(last.step); \(points.count) shown"
            caption += "; bands: min–max, ±1.5σ, ±1σ, ±0.5σ percentiles; line: median"
        }
        s += "<text x=\"\(Int(left))\" y=\"40\" font-family=\"sans-serif\" font-size=\"11\" fill=\"#5f6368\">\(escaped(caption))</text>\n"
        guard !points.isEmpty else { return Array((s + "</svg>\n").utf8) }
        let steps = Scale(points.first!.step, points.last!.step, from: left, to: width - right)
        let lo = points.map { $0.values.first! }.min()!, hi = points.map { $0.values.last! }.max()!
        let margin = (hi - lo) * 0.04  // the bands clear the axis and the top
        let values = Scale(lo - margin, hi + margin, from: height - bottom, to: top)
        s += axes(steps, values)
        let n = HistogramSummary.percentiles.count
        let shades = ["#fde2cc", "#fbc396", "#f8a462", "#f5842f"]
        for band in 0..<n / 2 {
            let upper = points.map { "\(coordinate(steps.map(Double($0.step)))),\(coordinate(values.map($0.values[n - 1 - band])))" }
            let lower = points.reversed().map { "\(coordinate(steps.map(Double($0.step)))),\(coordinate(values.map($0.values[band])))" }
            s += "<polygon fill=\"\(shades[band])\" stroke=\"\(shades[band])\" stroke-width=\"0.5\" points=\"\((upper + lower).joined(separator: " "))\"/>\n"
        }
        let median = points.map { "\(coordinate(steps.map(Double($0.step)))),\(coordinate(values.map($0.values[n / 2])))" }
        s += "<polyline class=\"median\" fill=\"none\" stroke=\"#c5560a\" stroke-width=\"1.5\" points=\"\(median.joined(separator: " "))\"/>\n"
        s += "</svg>\n"
        return Array(s.utf8)
    }

    /// `{"key": …, "histograms": N, "stride": N, "percentiles": […], "points": [{"step", "time", "count", "values"}, …]}`,
    /// the points in the order added; times in µs.
    static func json(key: String, _ summary: HistogramSummary) -> [UInt8] {
        let points: [Value] = summary.shown.map { p in
            .map([Entry("step", .int(p.step)), Entry("time", .int(p.time)), Entry("count", .int(Int64(clamping: p.count))),
                  Entry("values", .list(p.values.map { .double($0) }))])
        }
        var json = CanonicalJSON(capacity: 64 + points.count * 160)
        json.value(.map([
            Entry("key", .string(key)), Entry("histograms", .int(Int64(summary.added))), Entry("stride", .int(Int64(summary.stride))),
            Entry("percentiles", .list(HistogramSummary.percentiles.map { .double($0) })), Entry("points", .list(points)),
        ]))
        return json.output + [0x0A]
    }

    /// Axis lines, five ticks on each with labels, and a light grid.
    private static func axes(_ x: Scale, _ y: Scale) -> String {
        var s = "<g font-family=\"sans-serif\" font-size=\"11\" fill=\"#5f6368\" stroke-width=\"1\">\n"
        for v in y.ticks() {
            let py = coordinate(y.map(v))
            s += "<line x1=\"\(Int(left))\" y1=\"\(py)\" x2=\"\(Int(width - right))\" y2=\"\(py)\" stroke=\"#e8eaed\"/>\n"
            s += "<text x=\"\(Int(left) - 6)\" y=\"\(py)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(label(v))</text>\n"
        }
        for v in x.ticks() {
            let px = coordinate(x.map(v))
            s += "<line x1=\"\(px)\" y1=\"\(Int(height - bottom))\" x2=\"\(px)\" y2=\"\(Int(height - bottom) + 4)\" stroke=\"#5f6368\"/>\n"
            s += "<text x=\"\(px)\" y=\"\(Int(height - bottom) + 16)\" text-anchor=\"middle\">\(label(v))</text>\n"
        }
        s += "<line x1=\"\(Int(left))\" y1=\"\(Int(height - bottom))\" x2=\"\(Int(width - right))\" y2=\"\(Int(height - bottom))\" stroke=\"#5f6368\"/>\n"
        s += "<text x=\"\(Int(width - right))\" y=\"\(Int(height) - 6)\" text-anchor=\"end\">step</text>\n"
        return s + "</g>\n"
    }

    /// A linear map of [a, b] onto [p, q]; a single value is widened to show as a line mid-range.
    struct Scale {
        let a: Double, b: Double, p: Double, q: Double

        init<T: BinaryInteger>(_ a: T, _ b: T, from p: Double, to q: Double) { self.init(Double(a), Double(b), from: p, to: q) }

        init(_ a: Double, _ b: Double, from p: Double, to q: Double) {
            let pad = a == b ? Swift.max(abs(a) * 0.05, 0.5) : 0
            (self.a, self.b, self.p, self.q) = (a - pad, b + pad, p, q)
        }

        func map(_ v: Double) -> Double { p + (q - p) * (v - a) / (b - a) }

        /// Up to six round values within [a, b]: multiples of 1, 2 or 5 × 10^k.
        func ticks() -> [Double] {
            let raw = (b - a) / 5
            guard raw.isFinite, raw > 0 else { return [] }
            let magnitude = pow(10, (log10(raw)).rounded(.down))
            let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
            var out: [Double] = []
            var v = (a / step).rounded(.up) * step
            while v <= b + step * 1e-9 && out.count < 7 {
                out.append(abs(v) < step * 1e-9 ? 0 : v)
                v += step
            }
            return out
        }
    }

    /// A pixel coordinate with one decimal, the same on every machine.
    static func coordinate(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    /// A tick label: at most four significant digits.
    static func label(_ v: Double) -> String {
        String(format: "%.4g", locale: Locale(identifier: "en_US_POSIX"), v)
    }

    static func escaped(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 does not allow most control characters, not even as references.
                out.unicodeScalars.append(c.value < 0x20 && c != "\t" && c != "\n" && c != "\r" ? "\u{FFFD}" : c)
            }
        }
        return out
    }
}
