// SPDX-License-Identifier: Apache-2.0
import CCrypto

/// SHA-256, incremental, computed by the system's libcrypto (OpenSSL), which
/// uses the CPU's SHA instructions where there are any.
///
/// A value type: a copy hashes on from where the original was, independently.
public struct SHA256Hasher: Sendable {
    private var context = Context()

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        guard EVP_DigestUpdate(context.pointer, base, bytes.count) == 1 else { Context.fail("EVP_DigestUpdate") }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The 32-byte digest. The hasher starts again from nothing afterwards.
    public mutating func finalize() -> [UInt8] {
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context.pointer, $0.baseAddress, &length) }
        guard ok == 1, length == 32 else { Context.fail("EVP_DigestFinal_ex") }
        context = Context()
        return digest
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }

    /// An `EVP_MD_CTX`, owned: freed with its last reference, copied before a shared one changes.
    private final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init() {
            guard let p = EVP_MD_CTX_new() else { Self.fail("EVP_MD_CTX_new") }
            pointer = p
            guard EVP_DigestInit_ex(p, EVP_sha256(), nil) == 1 else { Self.fail("EVP_DigestInit_ex(SHA-256)") }
        }

        init(copying other: Context) {
            guard let p = EVP_MD_CTX_new() else { Self.fail("EVP_MD_CTX_new") }
            pointer = p
            guard EVP_MD_CTX_copy_ex(p, other.pointer) == 1 else { Self.fail("EVP_MD_CTX_copy_ex") }
        }

        deinit { EVP_MD_CTX_free(pointer) }

        /// libcrypto fails here only when out of memory or without a SHA-256
        /// implementation at all, as an allocation failure does elsewhere.
        static func fail(_ call: String) -> Never {
            fatalError("libcrypto: \(call) failed")
        }
    }
}
