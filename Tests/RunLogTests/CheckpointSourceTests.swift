// SPDX-License-Identifier: Apache-2.0
import Foundation
import RunLog
import Testing

/// A checkpoint is copied from a regular file only: a FIFO given by mistake
/// (or a device) is refused at once instead of blocking training.
@Suite struct CheckpointSourceTests {
    @Test func aFIFOGivenAsTheCheckpointIsRefusedAtOnce() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let fifo = dir.path + "/model.pt"
        #expect(mkfifo(fifo, 0o644) == 0)
        let run = try Run(id: "fifo-ckpt", root: dir.path, options: testOptions())
        let started = Date()
        do {
            try run.saveCheckpoint(name: "m", file: URL(fileURLWithPath: fifo))
            Issue.record("a FIFO was taken as a checkpoint")
        } catch let e as RunError {
            #expect(e.code == .invalidArgument)
            #expect(e.message == "\(fifo): cannot open the checkpoint: \(fifo): a FIFO, not a regular file; not read")
        }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(run.finish())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/fifo-ckpt/checkpoints").isEmpty)
    }
}
