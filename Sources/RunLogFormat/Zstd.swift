// SPDX-License-Identifier: Apache-2.0
import CZstd

/// A reusable zstd compression context. Not thread-safe: one per writer.
public final class ZstdCompressor {
    private let ctx: OpaquePointer
    public let level: Int32

    public init(level: Int32 = 1) {
        ctx = ZSTD_createCCtx()
        self.level = level
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 1)
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_checksumFlag, 0)
    }

    deinit { ZSTD_freeCCtx(ctx) }

    /// Appends one zstd frame holding `input` to `output`.
    public func compress(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws {
        let bound = ZSTD_compressBound(input.count)
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: bound))
        let written = output.withUnsafeMutableBytes { out in
            ZSTD_compress2(ctx, out.baseAddress! + start, bound, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 {
            output.removeSubrange(start...)
            throw FormatError(.compression, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        output.removeSubrange((start + written)...)
    }
}

/// A reusable zstd decompression context. Not thread-safe: one per reader.
public final class ZstdDecompressor {
    private let ctx: OpaquePointer

    public init() { ctx = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(ctx) }

    /// Decompresses `input`, which must be exactly one zstd frame that
    /// decompresses to exactly `contentLength` bytes, into `output` (which is
    /// resized to `contentLength`). Returns false otherwise. The output size
    /// is chosen by the caller, never by the compressed data.
    public func decompress(_ input: UnsafeRawBufferPointer, contentLength: Int, into output: inout [UInt8]) -> Bool {
        guard let src = input.baseAddress, input.count > 0 else { return false }
        let frameSize = ZSTD_findFrameCompressedSize(src, input.count)
        guard ZSTD_isError(frameSize) == 0, frameSize == input.count else { return false }
        let declared = ZSTD_getFrameContentSize(src, input.count)
        // ZSTD_CONTENTSIZE_UNKNOWN is allowed; a declared size must match.
        if declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != UInt64(contentLength) { return false }
        if output.count != contentLength {
            output = [UInt8](repeating: 0, count: contentLength)
        }
        let n = output.withUnsafeMutableBytes { out in
            ZSTD_decompressDCtx(ctx, out.baseAddress, contentLength, src, input.count)
        }
        return ZSTD_isError(n) == 0 && n == contentLength
    }
}
