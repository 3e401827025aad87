// SPDX-License-Identifier: Apache-2.0
import CChecksums

/// CRC32C (Castagnoli), hardware-accelerated where the CPU allows.
public enum CRC32C {
    /// The CRC32C of `bytes`, continuing from `crc` (0 to start).
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return runlog_crc32c(crc, base, bytes.count)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// The masked form stored in files: rotate right by 15 bits and add a constant.
    @inlinable
    public static func mask(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    @inlinable
    public static func unmask(_ masked: UInt32) -> UInt32 {
        let rot = masked &- 0xA282_EAD8
        return (rot >> 17) | (rot << 15)
    }

    /// Whether this CPU computes CRC32C with an instruction.
    public static var isHardwareAccelerated: Bool { runlog_crc32c_hardware() != 0 }
}
