// SPDX-License-Identifier: Apache-2.0
import Foundation

import RunLayout

/// A file streamed as a request body, hashed as it goes: when its SHA-256 is
/// not the expected one, the upload is aborted before the server has the
/// whole body (an aborted upload leaves no file behind).
final class FileUpload {
    private let fd: Int32
    private let size: UInt64
    private var sent: UInt64 = 0
    private let expected: [UInt8]
    private var hasher = SHA256Hasher()
    private let path: String
    private(set) var failure: SyncError?

    init(path: String, size: UInt64, sha256: [UInt8]) throws(SyncError) {
        do {
            fd = try RegularFile.open(path)
        } catch {
            throw SyncError(.data, "\(error.message)")
        }
        self.size = size
        self.expected = sha256
        self.path = path
        if size == 0, let e = check() {
            Foundation.close(fd)
            throw e
        }
    }

    /// Finishes the hash: an error when it is not the expected one.
    private func check() -> SyncError? {
        let digest = hasher.finalize()
        guard digest != expected else { return nil }
        return SyncError(.data, "\(path): SHA-256 \(Hex.string(digest)) is not the recorded \(Hex.string(expected)); not uploaded")
    }

    func close() { _ = Foundation.close(fd) }

    /// libcurl's read callback: fills `buffer`, 0 at the end, or abort.
    /// The hash is checked before the last chunk is handed over (libcurl
    /// asks for nothing more once it has the announced size), so that a
    /// file with the wrong bytes never reaches the server whole.
    func read(into buffer: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        let abort = 0x1000_0000  // CURL_READFUNC_ABORT
        if sent >= size { return 0 }
        let want = Int(min(UInt64(max), size - sent))
        let n = Foundation.read(fd, buffer, want)
        if n <= 0 {
            failure = SyncError(.data, "\(path): file shrank while uploading: \(sent) of \(size) bytes read")
            return abort
        }
        hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
        sent += UInt64(n)
        if sent == size, let e = check() {
            failure = e
            return abort
        }
        return n
    }
}
