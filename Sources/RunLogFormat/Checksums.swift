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

/// SHA-256, incremental.
public struct SHA256Hasher: Sendable {
    private var ctx = runlog_sha256_ctx()

    public init() { runlog_sha256_init(&ctx) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        runlog_sha256_update(&ctx, base, bytes.count)
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest. The hasher must not be used afterwards.
    public mutating func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { runlog_sha256_final(&ctx, $0.baseAddress!) }
        return digest
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }
}

extension runlog_sha256_ctx: @retroactive @unchecked Sendable {}
