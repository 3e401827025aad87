// SPDX-License-Identifier: Apache-2.0

/// Lowercase hexadecimal text of bytes: SHA-256 digests, `\u00XX` escapes.
public enum Hex {
    /// Appends two lowercase hex digits per byte to `out`.
    @inlinable
    public static func append<Bytes: Sequence>(_ bytes: Bytes, to out: inout [UInt8]) where Bytes.Element == UInt8 {
        for b in bytes {
            out.append(digit(b >> 4))
            out.append(digit(b & 15))
        }
    }

    /// The bytes as lowercase hex text.
    public static func string(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @inlinable
    static func digit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }  // 0-9, a-f
}
