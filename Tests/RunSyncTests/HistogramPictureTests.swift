// SPDX-License-Identifier: Apache-2.0
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@testable import RunSync

/// The bounded summary of a key's histograms and the picture made of it.
@Suite("Histogram pictures")
struct HistogramPictureTests {
    static func histogram(_ step: Int64, low: Double = 0, high: Double = 100, counts: [UInt64], min: Double? = nil, max: Double? = nil) -> Histogram {
        var h = Histogram(key: "w", step: step, time: 1_764_000_000_000_000 + step, bins: .uniform(low: low, high: high), counts: counts)
        h.count = counts.reduce(0, +)
        h.min = min ?? low
        h.max = max ?? high
        return h
    }

    /// What an SVG picture holds, read back with an XML parser.
    final class Parsed: NSObject, XMLParserDelegate {
        var root = ""
        var attributes: [String: String] = [:]
        var texts: [String] = []
        var polygons: [[String]] = []
        var median: [String] = []
        private var text: String?

        init?(_ bytes: [UInt8]) {
            super.init()
            let parser = XMLParser(data: Data(bytes))
            parser.delegate = self
            guard parser.parse() else { return nil }
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if root.isEmpty { (root, self.attributes) = (name, attributes) }
            let points = (attributes["points"] ?? "").split(separator: " ").map(String.init)
            if name == "polygon" { polygons.append(points) }
            if name == "polyline" { median = points }
            if name == "text" { text = "" }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text? += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text", let t = text { texts.append(t) }
            text = nil
        }
    }

    @Test func percentilesOfEvenlySpreadValuesAreTheirOwnRanks() throws {
        // 100 bins of 10 over [0, 100): the p-th percentile is p.
        let values = try #require(HistogramSummary.percentileValues(Self.histogram(0, counts: Array(repeating: 10, count: 100))))
        for (got, p) in zip(values, HistogramSummary.percentiles) {
            #expect(abs(got - p) < 1e-9, "percentile \(p): \(got)")
        }
    }

    @Test func percentilesInterpolateWithinTheBinAndKeepToMinAndMax() throws {
        // 90 values in [0, 1), 10 in [1, 2]; the smallest is 0.25, the largest 1.5.
        let h = Self.histogram(0, low: 0, high: 2, counts: [90, 10], min: 0.25, max: 1.5)
        let v = try #require(HistogramSummary.percentileValues(h))
        #expect(v[0] == 0.25 && v[8] == 1.5)
        #expect(abs(v[4] - 50.0 / 90) < 1e-12)                  // median: rank 50 of the first bin's 90
        #expect(abs(v[7] - (1 + (93.32 - 90) / 10)) < 1e-12)     // 93.32 %: 3.32 into the second bin's 10
        #expect(abs(v[1] - 0.25) < 1e-12)                        // 6.68/90 of [0, 1) is below the minimum: clamped
        // Explicit edges give the same as the uniform bins they equal.
        var e = h
        e.bins = .edges([0, 1, 2])
        #expect(HistogramSummary.percentileValues(e) == v)
    }

    @Test func histogramsWithoutFiniteValuesCountButAreNotShown() {
        var s = HistogramSummary()
        var empty = Self.histogram(0, counts: [0, 0])
        empty.count = 0
        s.add(empty)
        var infinite = Self.histogram(1, counts: [1])
        infinite.max = .infinity
        s.add(infinite)
        s.add(Self.histogram(2, counts: [3, 1]))
        #expect(s.added == 3)
        #expect(s.shown.map(\.step) == [2])
        let svg = HistogramPicture.svg(key: "w", s)
        let parsed = Parsed(svg)
        let coordinates = ((parsed?.polygons ?? []).joined() + (parsed?.median ?? [])).flatMap { $0.split(separator: ",") }
        #expect(parsed?.median.count == 1 && coordinates.allSatisfy { Double($0)?.isFinite == true }, "\(coordinates)")
        #expect(parsed?.texts.contains { $0.lowercased().contains("nan") || $0.contains("inf") } == false)
    }

    @Test func aHundredThousandStepsStayWithinTheCapacityAndShowFirstAndLast() throws {
        var s = HistogramSummary()
        for step in 0..<100_000 {
            s.add(Self.histogram(Int64(step), low: -1 - Double(step) / 1e4, high: 1, counts: [1, 2, 4, 2, 1]))
        }
        #expect(s.added == 100_000)
        // Kept: every 512th (100,000 / 512 = 196 of them, ≤ 256), and the latest.
        #expect(s.stride == 512)
        #expect(s.shown.count == 197)
        #expect(s.shown.first?.step == 0 && s.shown.last?.step == 99_999)
        #expect(s.shown.dropLast().allSatisfy { $0.index % 512 == 0 })
        let svg = HistogramPicture.svg(key: "w", s), json = HistogramPicture.json(key: "w", s)
        #expect(svg.count < 64 << 10, "\(svg.count) bytes of SVG")
        #expect(json.count < 64 << 10, "\(json.count) bytes of JSON")
        let parsed = try #require(Parsed(svg))
        #expect(parsed.root == "svg" && parsed.attributes["xmlns"] == "http://www.w3.org/2000/svg")
        #expect(parsed.attributes["data-points"] == "197" && parsed.attributes["data-histograms"] == "100000")
        #expect(parsed.median.count == 197)
        #expect(parsed.polygons.count == 4 && parsed.polygons.allSatisfy { $0.count == 2 * 197 })
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        #expect((object["points"] as? [Any])?.count == 197 && object["histograms"] as? Int == 100_000 && object["stride"] as? Int == 512)
    }

    @Test func theSameHistogramsGiveTheSameBytesWhateverWasDrawnBetween() {
        var a = HistogramSummary(), b = HistogramSummary()
        for step in 0..<1_000 {
            let h = Self.histogram(Int64(step % 700), low: Double(step % 13), high: 50 + Double(step % 17), counts: [UInt64(step % 5), 3, 7, 1])
            a.add(h)
            b.add(h)
            if step % 97 == 0 { _ = HistogramPicture.svg(key: "w", b) }  // a refresh in between changes nothing
        }
        #expect(a == b)
        #expect(HistogramPicture.svg(key: "k", a) == HistogramPicture.svg(key: "k", b))
        #expect(HistogramPicture.json(key: "k", a) == HistogramPicture.json(key: "k", b))
        // Steps that go back (a requeued attempt) are drawn in step order.
        let parsed = Parsed(HistogramPicture.svg(key: "k", a))
        let xs = parsed?.median.compactMap { Double($0.split(separator: ",")[0]) } ?? []
        #expect(xs.count == a.shown.count && xs == xs.sorted())
    }

    @Test func refreshesOfAPictureThatAlwaysChangesAreBoundedAsDocumented() {
        // Checked every second for ten hours, always with something new to show.
        var schedule = RefreshSchedule()
        var uploads: [Double] = []
        for second in 0...36_000 {
            let now = Double(second)
            if schedule.wait(now: now) <= 0 {
                uploads.append(now)
                schedule.uploaded(now: now)
            }
            #expect(Double(uploads.count) <= 7 + now / 600, "\(uploads.count) uploads after \(second) s")
        }
        #expect(uploads.prefix(9) == [0, 10, 30, 70, 150, 310, 630, 1230, 1830])
        #expect(zip(uploads.dropFirst(7), uploads.dropFirst(8)).allSatisfy { $1 - $0 == 600 })
        // --once: every pass may upload.
        var once = RefreshSchedule(first: 0)
        once.uploaded(now: 5)
        #expect(once.wait(now: 5) <= 0)
    }

    @Test func keysThatAreNotXMLOrCollideWithThePictureNamesAreSafe() throws {
        var s = HistogramSummary()
        s.add(Self.histogram(1, counts: [1]))
        let key = "a<b>&\"c\"'\u{1}"
        let parsed = try #require(Parsed(HistogramPicture.svg(key: key, s)))
        #expect(parsed.texts.first == "a<b>&\"c\"'\u{FFFD}")
        #expect(HistogramPicture.svgPath("w").description == "histograms/w/distribution.svg")
        #expect(HistogramPicture.jsonPath("w/distribution.svg").description == "histograms/w/distribution.svg_/distribution.json")
        #expect(HistogramPicture.svgPath("distribution.svg").description == "histograms/distribution.svg/distribution.svg")
        #expect(HistogramPicture.svgPath("rank1/../x").description == "histograms/rank1/_../x/distribution.svg")
    }
}
