// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// The helpers every module shares: hex, JSON strings, safe names, sizes and
/// numbers for people, disk usage.
@Suite struct SharedHelpersTests {
    @Test func hexIsTwoLowercaseDigitsPerByte() {
        #expect(Hex.string([]) == "")
        #expect(Hex.string([0x00, 0x09, 0x0a, 0x7f, 0xab, 0xff]) == "00090a7fabff")
        var out: [UInt8] = Array("x".utf8)
        Hex.append([0xde, 0xad], to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "xdead")
    }

    @Test func jsonStringsEscapeQuotesBackslashesAndControlCharacters() {
        var out: [UInt8] = []
        CanonicalJSON.appendString("a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f} é", to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #""a\"b\\c\b\f\n\r\t\u0001\u001f é""#)
        let parsed = try? JSONSerialization.jsonObject(with: Data(out), options: [.fragmentsAllowed]) as? String
        #expect(parsed == "a\"b\\c\u{8}\u{c}\n\r\t\u{1}\u{1f} é")
    }

    @Test func jsonDoublesAreTheShortestRoundTripFormAndNonFiniteOnesStrings() {
        var out: [UInt8] = []
        for d in [0.1, 1e-05, 1e16, -0.0, 5e-324, .nan, .infinity, -.infinity] {
            CanonicalJSON.appendDouble(d, to: &out)
            out.append(UInt8(ascii: " "))
        }
        #expect(String(decoding: out, as: UTF8.self) == #"0.1 1e-05 1e+16 -0.0 5e-324 "NaN" "Infinity" "-Infinity" "#)
    }

    @Test func safeNamesKeepOnlyPortableCharacters() {
        #expect(SafeName.characters("model-1.best_v2") == "model-1.best_v2")
        #expect(SafeName.characters("../a b/ü€") == ".._a_b___")
        #expect(SafeName.characters("") == "")
    }

    @Test func numbersForPeopleAreTheSameInEveryLocale() {
        #expect(HumanText.double(0.1) == "0.1")
        #expect(HumanText.double(-.infinity) == "-inf" && HumanText.double(.nan) == "nan")
        #expect(HumanText.fixed(2.25, digits: 1) == "2.3")
        #expect(HumanText.fixed(-0.04, digits: 1) == "0.0")
        #expect(HumanText.fixed(-1.05, digits: 2) == "-1.05")
        #expect(HumanText.fixed(7, digits: 0) == "7")
        #expect(HumanText.fixed(3.007, digits: 2) == "3.01")
        #expect(HumanText.bytes(0) == "0 B" && HumanText.bytes(1023) == "1023 B")
        #expect(HumanText.bytes(1536) == "1.5 KiB")
        #expect(HumanText.bytes(20 << 20) == "20.0 MiB")
        #expect(HumanText.bytes(Int64(3.2 * Double(1 << 30))) == "3.2 GiB")
    }

    /// One parser for the durations people type (`syncd clean --older-than`,
    /// `syncd --give-up-after`, `runlog logs --since`).
    @Test func durationsAreSecondsMinutesHoursDaysOrBareSeconds() {
        #expect(HumanText.seconds("90s") == 90 && HumanText.seconds("45m") == 2700)
        #expect(HumanText.seconds("12h") == 43_200 && HumanText.seconds("7d") == 604_800)
        #expect(HumanText.seconds("30") == 30 && HumanText.seconds("1.5h") == 5400 && HumanText.seconds("0") == 0)
        for bad in ["", "s", "-5", "-5m", "+5", "5x", "5 m", "5M", "1e3", "0x10", "inf", "nan", "1.2.3", ".", " 5", "5s ",
                    String(repeating: "9", count: 400)] {
            #expect(HumanText.seconds(bad) == nil, "\(bad)")
        }
    }

    @Test func diskUsageCountsRegularFilesAndFollowsNoLink() throws {
        let dir = NSTemporaryDirectory() + "runlog-du-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir + "/a/b", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(count: 1000).write(to: URL(fileURLWithPath: dir + "/one"))
        try Data(count: 234).write(to: URL(fileURLWithPath: dir + "/a/b/two"))
        let outside = dir + "-outside"
        try Data(count: 5000).write(to: URL(fileURLWithPath: outside))
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/a/link", withDestinationPath: outside)
        let usage = DiskUsage.of(dir)
        #expect(usage.bytes == 1234)
        #expect(abs(usage.newest - Date().timeIntervalSince1970) < 60)
        #expect(DiskUsage.of(dir + "/missing").bytes == 0)
    }
}
