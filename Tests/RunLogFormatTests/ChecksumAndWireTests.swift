// SPDX-License-Identifier: Apache-2.0
import RunLogFormat
import Testing

@Suite struct ChecksumTests {
    @Test func crc32cMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)  // RFC 3720 B.4
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    @Test func hardwareAndTableAgreeOnEveryLengthAndAlignment() {
        var bytes = [UInt8](repeating: 0, count: 300)
        var x: UInt32 = 12345
        for i in bytes.indices {
            x = x &* 1_103_515_245 &+ 12345
            bytes[i] = UInt8(truncatingIfNeeded: x >> 16)
        }
        // Fixed values (a bitwise CRC32C computed apart), so the check holds when both paths are the portable one.
        let fixed: [(start: Int, length: Int, crc: UInt32)] = [
            (0, 13, 0xE881_B98C), (1, 13, 0x23CD_7B23), (2, 13, 0xFD7C_6667), (3, 13, 0xB4CC_0906), (4, 13, 0x8A50_5DDA),
            (5, 13, 0x5C41_669C), (6, 13, 0x9F66_74DE), (7, 13, 0x0F1B_F6FB), (8, 13, 0x4353_CA03),
            (0, 271, 0x352F_77F4), (1, 271, 0x85EB_E895), (2, 271, 0x5790_ADDF), (3, 271, 0x3872_C656), (4, 271, 0xF2FF_3C3A),
            (5, 271, 0xC7C5_DA4B), (6, 271, 0x9899_C7AB), (7, 271, 0x5031_763D), (8, 271, 0x9682_FA01),
        ]
        bytes.withUnsafeBytes { all in
            for (start, length, crc) in fixed {
                let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                #expect(CRC32C.checksum(slice) == crc, "start \(start), length \(length)")
                #expect(portable(slice) == crc, "portable: start \(start), length \(length)")
            }
            for start in 0..<9 {
                for length in stride(from: 0, to: 280, by: 7) {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    #expect(CRC32C.checksum(slice) == portable(slice))
                }
            }
        }
    }

    @Test func maskRoundTripsAndChangesTheValue() {
        for c: UInt32 in [0, 1, 0xE306_9283, 0xFFFF_FFFF] {
            #expect(CRC32C.unmask(CRC32C.mask(c)) == c)
            #expect(CRC32C.mask(c) != c)
        }
    }

    @Test func sha256MatchesKnownDigests() {
        func hex(_ b: [UInt8]) -> String { b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        #expect(hex(SHA256Hasher.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256Hasher.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(hex(SHA256Hasher.hash(million)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        // Incremental in odd pieces equals one-shot.
        var h = SHA256Hasher()
        var at = 0
        var piece = 1
        while at < million.count {
            let end = min(million.count, at + piece)
            h.update(Array(million[at..<end]))
            at = end
            piece = piece * 3 + 1
        }
        #expect(hex(h.finalize()) == hex(SHA256Hasher.hash(million)))
    }

    @Test func aCopiedSHA256HasherGoesOnAloneAndFinalizeStartsAgain() {
        var a = SHA256Hasher()
        a.update(Array("ab".utf8))
        var b = a  // shares the state until one of them changes
        b.update(Array("c".utf8))
        a.update(Array("x".utf8))
        #expect(b.finalize() == SHA256Hasher.hash(Array("abc".utf8)))
        #expect(a.finalize() == SHA256Hasher.hash(Array("abx".utf8)))
        a.update(Array("abc".utf8))
        #expect(a.finalize() == SHA256Hasher.hash(Array("abc".utf8)))
        var c = SHA256Hasher()
        let d = c
        #expect(c.finalize() == SHA256Hasher.hash([]))
        var e = d
        e.update(Array("abc".utf8))
        #expect(e.finalize() == SHA256Hasher.hash(Array("abc".utf8)))
    }
}

import CChecksums
func portable(_ b: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = b.baseAddress, b.count > 0 else { return 0 }
    return runlog_crc32c_portable(0, base, b.count)
}
